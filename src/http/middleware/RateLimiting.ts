import { Headers, HttpApp, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Context, Duration, Effect, Metric } from "effect"
import { METRICS_PATH } from "../../metrics/Http.js"
import { rateLimitedRequests } from "../../metrics/Metrics.js"
import { seedResponse } from "../errors.js"
import type { ClientLimiter, Decision } from "../RateLimit.js"
import { type Stage, isPath, withHeaders } from "./Middleware.js"

const rateHeaders = (limit: number, remaining: number, reset: number): Headers.Headers =>
  Headers.unsafeFromRecord({
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(remaining),
    "ratelimit-reset": String(reset)
  })

const withDecision = (response: HttpServerResponse.HttpServerResponse, decision: Decision): HttpServerResponse.HttpServerResponse => {
  switch (decision._tag) {
    case "Allowed":
      return withHeaders(response, Headers.merge(response.headers, rateHeaders(decision.limit, decision.remaining, decision.resetSeconds)))
    case "Limited":
      return withHeaders(
        response,
        Headers.set(Headers.merge(response.headers, rateHeaders(decision.limit, 0, decision.retryAfterSeconds)), "retry-after", String(decision.retryAfterSeconds))
      )
    default:
      return response
  }
}

/**
 * RATE_LIMIT_*: a client over its limit is refused before any routing (429, with Retry-After);
 * every answer carries the RateLimit-* headers. /health and /metrics are exempt.
 */
export const rateLimiting = (limiter: ClientLimiter, clientIp: (request: HttpServerRequest.HttpServerRequest) => string, windowMs: number): Stage => {
  const window = Duration.format(Duration.millis(windowMs))
  const limited = (decision: Decision & { readonly _tag: "Limited" }) =>
    Effect.zipRight(
      Metric.increment(rateLimitedRequests),
      seedResponse(429, `too many requests: at most ${decision.limit} every ${window} from one client; retry in ${decision.retryAfterSeconds} s`)
    )
  // the answer's RateLimit-* headers depend on this request's decision: its own pre-response handler
  return {
    around: (app) =>
      Effect.withFiberRuntime((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        if (isPath(request.url, "/health") || isPath(request.url, METRICS_PATH)) return app
        return Effect.flatMap(limiter.consume(clientIp(request)), (decision) =>
          Effect.zipRight(
            HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(withDecision(response, decision))),
            decision._tag === "Limited" ? limited(decision) : app
          )
        )
      })
  }
}
