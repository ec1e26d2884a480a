import { HttpServerRequest } from "@effect/platform"
import { Context, Effect } from "effect"
import { chunkedBodyWithin, isChunkedWithoutLength } from "../BodyLimit.js"
import { seedResponse } from "../errors.js"
import { bodyTooLargeMessage } from "../Guards.js"
import type { Stage } from "./Middleware.js"

/**
 * BODY_LIMIT_BYTES: a body over the limit is refused (413) before any routing, declared or chunked;
 * a declared body far over it is not even drained (the connection is closed after the 413).
 */
export const bodyLimiting = (limit: number): Stage => {
  const tooLarge = seedResponse(413, bodyTooLargeMessage(limit))
  const hugeBody = Math.max(16 * limit, 1024 * 1024)
  const tooLargeClose = seedResponse(413, bodyTooLargeMessage(limit), { connection: "close" })
  return {
    around: (app) =>
      Effect.withFiberRuntime((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        const declared = request.headers["content-length"]
        if (declared !== undefined && Number(declared) > limit) return Number(declared) > hugeBody ? tooLargeClose : tooLarge
        if (!isChunkedWithoutLength(request)) return app
        return Effect.flatMap(chunkedBodyWithin(request, limit), (within) => (within ? app : tooLarge))
      })
  }
}
