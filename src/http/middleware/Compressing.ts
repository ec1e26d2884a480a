import { Effect } from "effect"
import { compressResponse, isEligible, negotiate } from "../Compression.js"
import { type Stage, varyOn, withHeaders } from "./Middleware.js"

/** ENABLE_COMPRESSION: a compressible answer (JSON or text, 1 KiB or more, not to a HEAD) in brotli or gzip, as the client accepts. */
export const compressing: Stage = {
  answer: (request, response) => {
    if (request.method === "HEAD" || !isEligible(response)) return Effect.succeed(response)
    const varied = withHeaders(response, varyOn(response.headers, "Accept-Encoding"))
    const encoding = negotiate(request.headers["accept-encoding"])
    return encoding === undefined ? Effect.succeed(varied) : compressResponse(varied, encoding)
  }
}
