import { Effect, Layer, Logger } from "effect"
import { AppConfig } from "../config.js"

/** Structured JSON logs on stdout, at LOG_LEVEL. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => Layer.merge(Logger.json, Logger.minimumLogLevel(config.logLevel)))
)
