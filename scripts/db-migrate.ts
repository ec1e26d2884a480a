/** Applies the migrations to DATABASE_URL (they also run at every server start). */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Option } from "effect"
import { AppConfig } from "../src/config.js"
import { DatabaseLive } from "../src/db/Database.js"
import { startupFailureLine } from "../src/platform/StartupError.js"

const program = Effect.gen(function* () {
  const config = yield* AppConfig
  if (Option.isNone(config.database.url)) {
    yield* Console.log("DATABASE_URL is not set: the embedded database is migrated at every start; nothing to do")
    return
  }
  yield* Effect.scoped(Layer.build(DatabaseLive))
  yield* Console.log("migrations applied")
}).pipe(Effect.provide(AppConfig.layer))

program.pipe(
  Effect.tapErrorCause((cause) => Console.error(startupFailureLine(cause))),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
