import { Effect, Layer, Option } from "effect"
import { AppConfig } from "./config.js"
import { bindChain, refuseUnsignedInProduction } from "./chain/binding.js"
import { seedCatalogue } from "./db/seed.js"
import { Chain } from "./domain/Chain.js"

/** Runs once the database and the chain are up, before the server accepts a request. */
export const StartupLive = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* refuseUnsignedInProduction
    yield* bindChain
    const chain = yield* Chain
    const config = yield* AppConfig
    // demo data: always with the in-process chain, and on the embedded database (e.g. against `npm run chain`)
    if (chain.binding.kind === "in-process" || Option.isNone(config.database.url)) {
      const added = yield* seedCatalogue()
      if (added > 0) yield* Effect.logInfo("demo catalogue loaded", { items: added })
    }
  })
)
