import { Headers, HttpApp, HttpServerError, HttpServerRequest as HttpServerRequestTag, HttpServerResponse } from "@effect/platform"
import type { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Context, Effect, Exit, FiberRef } from "effect"

/**
 * What the HTTP pipeline is made of: middlewares of one concern each (this directory), built once
 * from the configuration at start-up and composed once (src/http/Pipeline.ts).
 */
export type Middleware = <E, R>(app: HttpApp.Default<E, R>) => HttpApp.Default<E, R>

/**
 * What a middleware adds to the headers of every answer: from the request, the request's id and the
 * headers so far. Synchronous and built once; the pipeline runs every rule in one pre-response handler
 * per request and rebuilds the response once (Pipeline.ts).
 */
export type HeaderRule = (request: HttpServerRequest.HttpServerRequest, headers: Headers.Headers, requestId: string) => Headers.Headers

/** What a middleware does to every answer beyond its headers (its body): run by the same handler, in chain order. */
export type AnswerRule = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

/**
 * One stage of the pipeline: what it does around the app (a refusal before routing, a timer, a log
 * line) and what it does to every answer, either part optional.
 */
export interface Stage {
  readonly around?: Middleware
  readonly headers?: HeaderRule
  readonly answer?: AnswerRule
}

/**
 * The response with `headers` in place of its own (its body, status and cookies kept).
 * Note: `HttpServerResponse.setHeaders`, and any object spread of a `Headers`, measured ~20-100 µs per
 * call on a helmet-sized set; `Headers.merge`/`set` (Object.assign) and this constructor ~2-5 µs in all.
 */
export const withHeaders = (response: HttpServerResponse.HttpServerResponse, headers: Headers.Headers): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.setBody(
    HttpServerResponse.empty({
      status: response.status,
      ...(response.statusText === undefined ? {} : { statusText: response.statusText }),
      headers,
      cookies: response.cookies
    }),
    response.body
  )

/** `value` added to the response's Vary header (kept once). */
export const varyOn = (headers: Headers.Headers, value: string): Headers.Headers => {
  const vary = headers["vary"]
  if (vary === undefined || vary.length === 0) return Headers.set(headers, "vary", value)
  return vary.split(",").some((v) => v.trim().toLowerCase() === value.toLowerCase()) ? headers : Headers.set(headers, "vary", `${vary}, ${value}`)
}

export const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

export const isPath = (url: string, path: string): boolean => url.startsWith(path) && (url.length === path.length || url[path.length] === "?")

/**
 * The status a request was answered with. The pipeline turns every failure into a response (SeedErrorBody),
 * so a failure here is an interruption: the status REQUEST_TIMEOUT wrote on the wire before it, or 499
 * (the client went away).
 */
export const statusOf = (request: HttpServerRequest.HttpServerRequest, exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>): number => {
  if (Exit.isSuccess(exit)) return exit.value.status
  const wire = NodeHttpServerRequest.toServerResponse(request)
  if (wire.headersSent) return wire.statusCode
  return Cause.isInterruptedOnly(exit.cause) ? 499 : 500
}

/** The platform marks a request whose response it has written (HttpApp.toHandled) with this symbol. */
const handled = Symbol.for("@effect/platform/HttpApp/handled")

/**
 * The answers the pipeline's middlewares (or the ones inside it: 405, 415, an idempotent replay) make
 * themselves, without reaching the router, get the same treatment as the router's: the platform runs
 * the pre-response handlers the middlewares installed only on responses the app returns (or the
 * failures it renders), so this runs them on the others; a failure of a middleware is rendered into
 * its response first (a 5xx's cause logged).
 */
export const answerEveryResponse: Stage = {
  around: (app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequestTag.HttpServerRequest)
      const treated = (response: HttpServerResponse.HttpServerResponse) =>
        Effect.flatMap(FiberRef.get(HttpApp.currentPreResponseHandlers), (handlers) =>
          handlers._tag === "None" ? Effect.succeed(response) : Effect.orDie(handlers.value(request, response))
        )
      return Effect.matchCauseEffect(app, {
        onSuccess: (response) => (handled in request ? Effect.succeed(response) : treated(response)),
        onFailure: (cause) =>
          handled in request || Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.flatMap(HttpServerError.causeResponse(cause), ([response, rest]) =>
                response.status >= 500 && !Cause.isEmpty(rest) ? Effect.zipRight(Effect.logError("http middleware failed", rest), treated(response)) : treated(response)
              )
      })
    })
}
