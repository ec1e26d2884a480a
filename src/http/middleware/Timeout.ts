import { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Clock, Context, Duration, Effect, type Fiber } from "effect"
import { seedError } from "../errors.js"
import type { Stage } from "./Middleware.js"
import { requestIdIn } from "./RequestLog.js"

/**
 * REQUEST_TIMEOUT: one native timer per request (racing the handler with Effect.timeout forks fibers
 * and measured ~80 µs a request). When it fires before the response has started, it answers 503 in
 * the seed format straight on the Node response, with the headers every answer has (`headersFor`:
 * security and CORS) and the request id, then interrupts the request's fiber (as a client abort
 * would); the platform then writes nothing more, and the log line and metrics record the 503.
 */
export const timeout = (
  duration: Duration.Duration,
  headersFor: (url: string, origin: string | undefined) => Readonly<Record<string, string>>
): Stage => {
  const ms = Duration.toMillis(duration)
  const message = `the request did not complete within ${Duration.format(duration)}`
  const onTimeout = (request: HttpServerRequest.HttpServerRequest, fiber: Fiber.RuntimeFiber<unknown, unknown>, clock: Clock.Clock) => {
    const response = NodeHttpServerRequest.toServerResponse(request)
    if (response.headersSent || response.writableEnded) return
    const body = JSON.stringify(seedError(503, message, clock.unsafeCurrentTimeMillis()))
    response.writeHead(
      503,
      Object.assign({}, headersFor(request.url, request.headers["origin"]), {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "x-request-id": requestIdIn(fiber)
      })
    )
    response.end(body)
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  return {
    around: (app) =>
      Effect.withFiberRuntime((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
        const timer = setTimeout(onTimeout, ms, request, fiber, clock)
        return Effect.ensuring(app, Effect.sync(() => clearTimeout(timer)))
      })
  }
}
