import { FileSystem, HttpIncomingMessage } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"

export const bodyTooLargeMessage = (limit: number) => `the request body exceeds the limit of ${limit} bytes`

/**
 * Backstop for the body limit: the platform's body reader never holds more than BODY_LIMIT_BYTES (its
 * default is 10 MB). The pipeline answers oversized bodies with 413 before this could trigger (see
 * BodyLimit.ts). Set once for the server, not per request.
 */
export const BodyLimitLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Layer.succeed(HttpIncomingMessage.MaxBodySize, Option.some(FileSystem.Size(config.security.bodyLimitBytes)))
  )
)
