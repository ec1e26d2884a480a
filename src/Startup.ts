import { Effect, Layer } from "effect"
import { bindChain } from "./chain/binding.js"
import { seedCatalogue } from "./db/seed.js"
import { Chain } from "./domain/Chain.js"

/** Runs once the database and the chain are up, before the server accepts a request. */
export const StartupLive = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* bindChain
    const chain = yield* Chain
    if (chain.binding.kind === "in-process") {
      const added = yield* seedCatalogue()
      if (added > 0) yield* Effect.logInfo("demo catalogue loaded", { items: added })
    }
  })
)
