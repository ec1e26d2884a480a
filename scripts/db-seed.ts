/** Loads the demo catalogue into DATABASE_URL (migrating first); items already there are left as they are. */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Option } from "effect"
import { AppConfig } from "../src/config.js"
import { DatabaseLive } from "../src/db/Database.js"
import { seedCatalogue } from "../src/db/seed.js"
import { startupFailureLine } from "../src/platform/StartupError.js"

const program = Effect.gen(function* () {
  const config = yield* AppConfig
  if (Option.isNone(config.database.url)) {
    yield* Console.log("DATABASE_URL is not set: the embedded database is seeded at every start; nothing to do")
    return
  }
  const added = yield* Effect.scoped(Effect.flatMap(Layer.build(DatabaseLive), (ctx) => Effect.provide(seedCatalogue(), ctx)))
  yield* Console.log(`demo catalogue: ${added} item(s) added`)
}).pipe(Effect.provide(AppConfig.layer))

program.pipe(
  Effect.tapErrorCause((cause) => Console.error(startupFailureLine(cause))),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
