import { HttpApp, HttpServerRequest } from "@effect/platform"
import { Context, Effect } from "effect"
import { compressResponse, isEligible, negotiate } from "../Compression.js"
import { type Middleware, varyOn, withHeaders } from "./Middleware.js"

/** ENABLE_COMPRESSION: a compressible answer (JSON or text, 1 KiB or more) in brotli or gzip, as the client accepts. */
export const compressing: Middleware = (app) =>
  Effect.withFiberRuntime((fiber) => {
    const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
    if (request.method === "HEAD") return app
    const compress = HttpApp.appendPreResponseHandler((_, response) => {
      if (!isEligible(response)) return Effect.succeed(response)
      const varied = withHeaders(response, varyOn(response.headers, "Accept-Encoding"))
      const encoding = negotiate(request.headers["accept-encoding"])
      return encoding === undefined ? Effect.succeed(varied) : compressResponse(varied, encoding)
    })
    return Effect.zipRight(compress, app)
  })
