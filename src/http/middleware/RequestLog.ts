import { Headers, HttpApp, HttpServerRequest } from "@effect/platform"
import { Cause, Clock, Context, Effect, Exit, FiberRef, LogLevel } from "effect"
import type { Tracer } from "effect"
import { randomUUID } from "node:crypto"
import { type Middleware, pathOf, statusOf, withHeaders } from "./Middleware.js"

/**
 * X-Request-Id and the request's log line: takes the client's X-Request-Id if sane, else makes one;
 * annotates every log of the request with it (and the request's span); answers with it; logs one
 * structured line per request (method, route template, path, status, duration, request id; never a
 * header or a body), at error level for a 5xx.
 */

const requestIdPattern = /^[A-Za-z0-9._:/+=@-]{1,128}$/

/** The client's X-Request-Id when it is a sane token (no spaces or control characters, at most 128), else a new UUID. */
export const requestIdOf = (header: string | undefined): string =>
  header !== undefined && requestIdPattern.test(header) ? header : randomUUID()

/** The current request's id, for a middleware that answers on its own (REQUEST_TIMEOUT). */
export const currentRequestId = FiberRef.unsafeMake("")

const methods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
export const methodOf = (method: string): string => (methods.has(method) ? method : "OTHER")

/** The route template the router matched (it annotates the request's span with it), or "unmatched". */
export const routeOf = (span: Tracer.AnySpan | undefined): string => {
  if (span === undefined || span._tag !== "Span") return "unmatched"
  const route = span.attributes.get("http.route")
  return typeof route === "string" ? route : "unmatched"
}

export const requestLog: Middleware = (app) =>
  Effect.withFiberRuntime((fiber) => {
    const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const start = clock.unsafeCurrentTimeNanos()
    const span = fiber.currentSpan
    const requestId = requestIdOf(request.headers["x-request-id"])
    // the request's server span carries its id too, so a trace is found from the X-Request-Id of its answer
    if (span !== undefined && span._tag === "Span") span.attribute("requestId", requestId)
    const answered = Effect.zipRight(
      HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(withHeaders(response, Headers.set(response.headers, "x-request-id", requestId)))),
      app
    )
    const logged = Effect.onExit(answered, (exit) => {
      const status = statusOf(request, exit)
      const level = status >= 500 ? LogLevel.Error : LogLevel.Info
      if (LogLevel.lessThan(level, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))) return Effect.void
      const seconds = Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
      const fields = { method: methodOf(request.method), route: routeOf(span), path: pathOf(request.url), status, durationMs: Math.round(seconds * 1e6) / 1e3 }
      const line =
        Exit.isFailure(exit) && status >= 500 && !Cause.isInterruptedOnly(exit.cause)
          ? Effect.logError("http request", exit.cause)
          : Effect.logWithLevel(level, "http request")
      return Effect.annotateLogs(line, fields)
    })
    return Effect.annotateLogs(Effect.locally(logged, currentRequestId, requestId), "requestId", requestId)
  })
