import { HttpServerRequest } from "@effect/platform"
import { Clock, Context, Effect } from "effect"
import type { makeHttpMetrics } from "../../metrics/Metrics.js"
import { type Stage, statusOf } from "./Middleware.js"
import { type RouteTemplateOf, methodOf } from "./RequestLog.js"

/** ENABLE_METRICS: every request counted and timed by method, route template and status. */
export const httpMetrics = (metrics: ReturnType<typeof makeHttpMetrics>, routeOf: RouteTemplateOf): Stage => ({
  around: (app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const start = clock.unsafeCurrentTimeNanos()
      return Effect.onExit(app, (exit) =>
        Effect.sync(() =>
          metrics.record(
            methodOf(request.method),
            routeOf(request.method, request.url),
            statusOf(request, exit),
            Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
          )
        )
      )
    })
})
