import { Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"
import { makeHttpMetrics } from "../metrics/Metrics.js"
import { makeClientIp } from "./ClientIp.js"
import { bodyLimiting } from "./middleware/BodyLimiting.js"
import { compressing } from "./middleware/Compressing.js"
import { cors } from "./middleware/Cors.js"
import { httpMetrics } from "./middleware/HttpMetrics.js"
import { type Middleware, answerEveryResponse } from "./middleware/Middleware.js"
import { rateLimiting } from "./middleware/RateLimiting.js"
import { requestLog } from "./middleware/RequestLog.js"
import { securityHeaders } from "./middleware/SecurityHeaders.js"
import { seedErrorBody } from "./middleware/SeedErrorBody.js"
import { timeout } from "./middleware/Timeout.js"
import { makeClientLimiter } from "./RateLimit.js"
import { makeCors, makeStaticHeaders } from "./Security.js"

export { requestIdOf } from "./middleware/RequestLog.js"

/**
 * The outermost HTTP middleware: the middlewares of src/http/middleware/, one concern each, built once
 * from the configuration and composed once, here, at start-up (a feature turned off is not in the
 * chain at all). Outermost first:
 *
 * 1. request id and the request's log line (RequestLog);
 * 2. HTTP metrics (ENABLE_METRICS);
 * 3. answers made without the router (a 429, a 413, a preflight, a 405, a 415, an idempotent replay)
 *    treated as the router's are (Middleware.answerEveryResponse);
 * 4. the seed's error body for every error answer;
 * 5. CORS: preflights answered here, the origin's headers on every answer;
 * 6. security headers (ENABLE_HELMET);
 * 7. body limit (413, declared or chunked), before the rate limit counts the request;
 * 8. rate limit (429, RateLimit-* headers; /health and /metrics exempt);
 * 9. REQUEST_TIMEOUT (503);
 * 10. compression (ENABLE_COMPRESSION).
 *
 * What a middleware does to the answer it installs as a pre-response handler (the platform writes the
 * router's answer inside the app, before any middleware returns), in this order: the seed's body is
 * written before compression compresses it. Per request nothing is built but the answer: no layer,
 * no regular expression, no fiber, no header set.
 */
export class HttpPipeline extends Context.Tag("payg/HttpPipeline")<
  HttpPipeline,
  {
    readonly middleware: Middleware
  }
>() {}

export const HttpPipelineLive = Layer.scoped(
  HttpPipeline,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const security = config.security
    const limiter = Option.getOrUndefined(yield* makeClientLimiter)
    const policy = makeCors(security.corsOrigin)
    const everyAnswer = makeStaticHeaders({ helmet: security.enableHelmet, cors: policy, origins: security.corsOrigin })

    const chain: ReadonlyArray<Middleware> = [
      requestLog,
      ...(config.enableMetrics ? [httpMetrics(makeHttpMetrics())] : []),
      answerEveryResponse,
      seedErrorBody,
      cors(policy),
      ...(security.enableHelmet ? [securityHeaders] : []),
      bodyLimiting(security.bodyLimitBytes),
      ...(limiter === undefined ? [] : [rateLimiting(limiter, makeClientIp(security.trustProxy), security.rateLimitWindowMs)]),
      timeout(security.requestTimeout, everyAnswer),
      ...(security.enableCompression ? [compressing] : [])
    ]
    const middleware: Middleware = (app) => chain.reduceRight((inner, wrap) => wrap(inner), app)
    return HttpPipeline.of({ middleware })
  })
)
