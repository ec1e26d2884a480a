import { HttpServerRequest } from "@effect/platform"
import { Clock, Context, Effect } from "effect"
import type { makeHttpMetrics } from "../../metrics/Metrics.js"
import { type Middleware, statusOf } from "./Middleware.js"
import { methodOf, routeOf } from "./RequestLog.js"

/** ENABLE_METRICS: every request counted and timed by method, route template and status. */
export const httpMetrics =
  (metrics: ReturnType<typeof makeHttpMetrics>): Middleware =>
  (app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const start = clock.unsafeCurrentTimeNanos()
      const span = fiber.currentSpan
      return Effect.onExit(app, (exit) =>
        Effect.sync(() =>
          metrics.record(methodOf(request.method), routeOf(span), statusOf(request, exit), Number(clock.unsafeCurrentTimeNanos() - start) / 1e9)
        )
      )
    })
