import { HttpApp, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"
import { makeHttpMetrics } from "../metrics/Metrics.js"
import { makeClientIp } from "./ClientIp.js"
import { bodyLimiting } from "./middleware/BodyLimiting.js"
import { compressing } from "./middleware/Compressing.js"
import { cors } from "./middleware/Cors.js"
import { httpMetrics } from "./middleware/HttpMetrics.js"
import { pathGuard } from "./middleware/PathGuard.js"
import { type AnswerRule, type Middleware, type Stage, answerEveryResponse, withHeaders } from "./middleware/Middleware.js"
import { rateLimiting } from "./middleware/RateLimiting.js"
import { requestIdIn, requestLog } from "./middleware/RequestLog.js"
import { securityHeaders } from "./middleware/SecurityHeaders.js"
import { seedErrorBody } from "./middleware/SeedErrorBody.js"
import { timeout } from "./middleware/Timeout.js"
import { makeClientLimiter } from "./RateLimit.js"
import { makeRouteTemplate, serverRoutes } from "./Routes.js"
import { makeCors, makeStaticHeaders } from "./Security.js"

export { requestIdOf } from "./middleware/RequestLog.js"

/**
 * The outermost HTTP middleware: the stages of src/http/middleware/, one concern each, built once
 * from the configuration and composed once, here, at start-up (a feature turned off is not in the
 * chain at all). Outermost first:
 *
 * 1. request id and the request's log line (RequestLog);
 * 2. HTTP metrics (ENABLE_METRICS);
 * 3. answers made without the router (a 429, a 413, a preflight, a 405, a 415, an idempotent replay)
 *    treated as the router's are (Middleware.answerEveryResponse);
 * 4. the seed's error body for every error answer;
 * 5. CORS: preflights answered here, the origin's headers on every other answer;
 * 6. security headers (ENABLE_HELMET);
 * 7. a `;` in the path is a 404 (PathGuard: the router would read it as a query string);
 * 8. body limit (413, declared or chunked), before the rate limit counts the request;
 * 9. rate limit (429, RateLimit-* headers; /health and /metrics exempt);
 * 10. REQUEST_TIMEOUT (503);
 * 11. compression (ENABLE_COMPRESSION).
 *
 * What the stages do to the answer runs in one pre-response handler, installed once per request (the
 * platform writes the router's answer inside the app, before any middleware returns): every stage's
 * header rule in chain order on the answer's headers, the response rebuilt once with them, then the
 * body rules in chain order (the seed's body is written before compression compresses it). Only the
 * rate limit adds a handler of its own (its headers depend on the request's decision). Per request
 * nothing else is built but the answer: no layer, no regular expression, no fiber, no header set.
 */
export class HttpPipeline extends Context.Tag("payg/HttpPipeline")<
  HttpPipeline,
  {
    readonly middleware: Middleware
  }
>() {}

/** The stages' answer rules as one pre-response handler. */
const answerRules = (stages: ReadonlyArray<Stage>) => {
  const headerRules = stages.flatMap((s) => (s.headers === undefined ? [] : [s.headers]))
  const bodyRules = stages.flatMap((s) => (s.answer === undefined ? [] : [s.answer]))
  const body = bodyRules.reduceRight<AnswerRule>(
    (next, rule) => (request, response) => Effect.flatMap(rule(request, response), (r) => next(request, r)),
    (_request, response) => Effect.succeed(response)
  )
  return (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
    Effect.withFiberRuntime<HttpServerResponse.HttpServerResponse>((fiber) => {
      const requestId = requestIdIn(fiber)
      let headers = response.headers
      for (const rule of headerRules) headers = rule(request, headers, requestId)
      return body(request, headerRules.length === 0 ? response : withHeaders(response, headers))
    })
}

export const HttpPipelineLive = Layer.scoped(
  HttpPipeline,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const security = config.security
    const limiter = Option.getOrUndefined(yield* makeClientLimiter)
    const policy = makeCors(security.corsOrigin)
    const everyAnswer = makeStaticHeaders({ helmet: security.enableHelmet, cors: policy, origins: security.corsOrigin })
    const routeOf = makeRouteTemplate(serverRoutes(config.enableMetrics))

    const stages: ReadonlyArray<Stage> = [
      requestLog(routeOf),
      ...(config.enableMetrics ? [httpMetrics(makeHttpMetrics(), routeOf)] : []),
      answerEveryResponse,
      seedErrorBody,
      cors(policy),
      ...(security.enableHelmet ? [securityHeaders] : []),
      pathGuard,
      bodyLimiting(security.bodyLimitBytes),
      ...(limiter === undefined ? [] : [rateLimiting(limiter, makeClientIp(security.trustProxy), security.rateLimitWindowMs)]),
      timeout(security.requestTimeout, everyAnswer),
      ...(security.enableCompression ? [compressing] : [])
    ]
    const answer = HttpApp.appendPreResponseHandler(answerRules(stages))
    const arounds = stages.flatMap((s) => (s.around === undefined ? [] : [s.around]))
    const middleware: Middleware = (app) => Effect.zipRight(answer, arounds.reduceRight((inner, wrap) => wrap(inner), app))
    return HttpPipeline.of({ middleware })
  })
)
