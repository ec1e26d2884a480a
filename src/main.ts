import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { makeAppLive } from "./AppLive.js"
import { ChainFromConfig } from "./chain/ChainFromConfig.js"
import { AppConfig } from "./config.js"
import { HttpAppLive, NodeServerLive, withLogAddress } from "./http/Server.js"
import { LoggingLive } from "./platform/Logging.js"
import { startupFailureLine } from "./platform/StartupError.js"
import { TracingLive } from "./platform/Tracing.js"

const ConfigLive = AppConfig.layer.pipe(Layer.provide(PlatformConfigProvider.layerDotEnvAdd(".env")), Layer.provide(NodeContext.layer))

const MainLive = HttpAppLive.pipe(
  withLogAddress,
  Layer.provide(NodeServerLive),
  Layer.provide(makeAppLive(ChainFromConfig)),
  // logging and tracing are in place before anything else starts, so every log and span goes through them
  Layer.provide(Layer.merge(LoggingLive, TracingLive)),
  Layer.provide(ConfigLive)
)

Layer.launch(MainLive).pipe(
  Effect.tapErrorCause((cause) => Console.error(startupFailureLine(cause))),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
