import { Headers, HttpServerRequest } from "@effect/platform"
import { Cause, Clock, Context, Effect, Exit, type Fiber, FiberRef, HashMap, LogLevel } from "effect"
import { randomUUID } from "node:crypto"
import { type Stage, pathOf, statusOf } from "./Middleware.js"

/**
 * X-Request-Id and the request's log line: takes the client's X-Request-Id if sane, else makes one;
 * annotates every log of the request with it (and the request's span, when there is one); answers
 * with it; logs one structured line per request (method, route template, path, status, duration,
 * request id; never a header or a body), at error level for a 5xx.
 */

const requestIdPattern = /^[A-Za-z0-9._:/+=@-]{1,128}$/

/** The client's X-Request-Id when it is a sane token (no spaces or control characters, at most 128), else a new UUID. */
export const requestIdOf = (header: string | undefined): string =>
  header !== undefined && requestIdPattern.test(header) ? header : randomUUID()

const REQUEST_ID = "requestId"

/** The id of the request `fiber` serves (the log annotation RequestLog sets), "" outside a request. */
export const requestIdIn = (fiber: Fiber.RuntimeFiber<unknown, unknown>): string => {
  const id = HashMap.get(fiber.getFiberRef(FiberRef.currentLogAnnotations), REQUEST_ID)
  return id._tag === "Some" && typeof id.value === "string" ? id.value : ""
}

const methods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
export const methodOf = (method: string): string => (methods.has(method) ? method : "OTHER")

/** The route template a request matches (Routes.makeRouteTemplate), or "unmatched". */
export type RouteTemplateOf = (method: string, url: string) => string

export const requestLog = (routeOf: RouteTemplateOf): Stage => ({
  around: (app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const start = clock.unsafeCurrentTimeNanos()
      const span = fiber.currentSpan
      const requestId = requestIdOf(request.headers["x-request-id"])
      // the request's server span (when traces are exported) carries its id too, so a trace is found from the X-Request-Id of its answer
      if (span !== undefined && span._tag === "Span") span.attribute(REQUEST_ID, requestId)
      const logged = Effect.onExit(app, (exit) => {
        const status = statusOf(request, exit)
        const level = status >= 500 ? LogLevel.Error : LogLevel.Info
        if (LogLevel.lessThan(level, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))) return Effect.void
        const seconds = Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
        const fields = {
          method: methodOf(request.method),
          route: routeOf(request.method, request.url),
          path: pathOf(request.url),
          status,
          durationMs: Math.round(seconds * 1e6) / 1e3
        }
        const line =
          Exit.isFailure(exit) && status >= 500 && !Cause.isInterruptedOnly(exit.cause)
            ? Effect.logError("http request", exit.cause)
            : Effect.logWithLevel(level, "http request")
        return Effect.annotateLogs(line, fields)
      })
      return Effect.annotateLogs(logged, REQUEST_ID, requestId)
    }),
  headers: (_request, headers, requestId) => Headers.set(headers, "x-request-id", requestId)
})
