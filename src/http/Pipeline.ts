import { Headers, HttpApp, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Clock, Context, Duration, Effect, Exit, type Fiber, FiberRef, Layer, LogLevel, Metric, Option } from "effect"
import type { Tracer } from "effect"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { AppConfig } from "../config.js"
import { METRICS_PATH } from "../metrics/Http.js"
import { makeHttpMetrics, rateLimitedRequests } from "../metrics/Metrics.js"
import { chunkedBodyWithin, isChunkedWithoutLength } from "./BodyLimit.js"
import { makeClientIp, makeClientKey } from "./ClientIp.js"
import { type Encoding, MIN_BYTES, compress, compressResponse, isEligible, negotiate } from "./Compression.js"
import { bodyTooLargeMessage } from "./Guards.js"
import { type ClientLimiter, type Decision, makeClientLimiter } from "./RateLimit.js"
import { makeCors, makeStaticHeaders } from "./Security.js"
import { seedError, seedResponse } from "./errors.js"
import { normalize } from "./seedErrors.js"

/**
 * The outermost HTTP middleware, built once from the configuration. Per request it:
 * - takes the client's X-Request-Id if sane, else makes one, and annotates every log of the request with it;
 * - answers CORS preflights, and refuses before any routing a client over its rate limit (429, with
 *   Retry-After and RateLimit-* headers; /health and /metrics exempt) and a body over BODY_LIMIT_BYTES
 *   (413, declared or chunked);
 * - answers 503 when the request is not done within REQUEST_TIMEOUT;
 * - installs one pre-response handler that gives every response, error or not, the seed's error body,
 *   X-Request-Id, security headers (ENABLE_HELMET), CORS and rate-limit headers and compression
 *   (ENABLE_COMPRESSION); a response made by an inner middleware without reaching the app (an
 *   idempotent replay, a 415) gets the same treatment;
 * - logs one structured line (method, route template, path, status, duration, request id; never a
 *   header or a body) and records the request in the HTTP metrics (ENABLE_METRICS).
 *
 * Hot path: no layer is built, no regular expression compiled, no fiber forked and no header set
 * assembled per request (they are built at start-up, per origin); a request costs a few lookups, two
 * closures, one timer and a handful of small objects. Measured against the previous chain (the
 * platform's logger + the seed error handler): about +10-20 µs of CPU per request, all features on.
 */

export class HttpPipeline extends Context.Tag("payg/HttpPipeline")<
  HttpPipeline,
  {
    readonly middleware: <E, R>(app: HttpApp.Default<E, R>) => HttpApp.Default<E, R>
    readonly direct: DirectLane
  }
>() {}

/**
 * What a lane that answers requests straight on Node's request and response (src/http/HotReads.ts)
 * needs to answer exactly as the middleware would: the same rate limit, headers, compression,
 * timeout, log line and metrics. A request such a lane hands on to the router keeps its rate-limit
 * decision, so it is never counted twice.
 */
export interface DirectLane {
  /** The client's rate-limit decision (undefined when rate limiting is off), remembered for the request. */
  readonly rateLimit: (incoming: IncomingMessage) => Effect.Effect<Decision | undefined>
  /** Writes a 200 JSON response with every header the middleware would give it (compressed when it would be). */
  readonly respondJson: (incoming: IncomingMessage, response: ServerResponse, requestId: string, rate: Decision | undefined, json: string) => Effect.Effect<void>
  /** Answers 503 if nothing has been written yet (REQUEST_TIMEOUT); false if the response had started. */
  readonly answerTimeout: (incoming: IncomingMessage, response: ServerResponse, requestId: string, nowMs: number) => boolean
  readonly timeoutMs: number
  /** The request's log line and metrics, as the middleware records them. */
  readonly observe: (method: string, route: string, url: string, status: number, seconds: number) => Effect.Effect<void>
}

/** Rate-limit decisions already taken for a request by a direct lane that then handed it to the router. */
const decided = new WeakMap<IncomingMessage, Decision>()

const requestIdPattern = /^[A-Za-z0-9._:/+=@-]{1,128}$/

/** The client's X-Request-Id when it is a sane token (no spaces or control characters, at most 128), else a new UUID. */
export const requestIdOf = (header: string | undefined): string =>
  header !== undefined && requestIdPattern.test(header) ? header : randomUUID()

const methods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
const bearerChallenge = 'Bearer realm="payg"'
const UNMATCHED = "unmatched"

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

const isPath = (url: string, path: string): boolean =>
  url.startsWith(path) && (url.length === path.length || url[path.length] === "?")

/**
 * The response with `headers` in place of its own (its body, status and cookies kept).
 * Note: `HttpServerResponse.setHeaders`, and any object spread of a `Headers`, measured ~20-100 µs per
 * call on a helmet-sized set; `Headers.merge`/`set` (Object.assign) and this constructor ~2-5 µs in all.
 */
const withHeaders = (response: HttpServerResponse.HttpServerResponse, headers: Headers.Headers) =>
  HttpServerResponse.setBody(
    HttpServerResponse.empty({
      status: response.status,
      ...(response.statusText === undefined ? {} : { statusText: response.statusText }),
      headers,
      cookies: response.cookies
    }),
    response.body
  )

const rateHeaders = (limit: number, remaining: number, reset: number): Headers.Headers =>
  Headers.unsafeFromRecord({
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(remaining),
    "ratelimit-reset": String(reset)
  })

const headerOf = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : value?.join(", ")

const joinVary = (...values: ReadonlyArray<string | undefined>): string | undefined => {
  let out: string | undefined
  for (const v of values) if (v !== undefined && v.length > 0) out = out === undefined ? v : `${out}, ${v}`
  return out
}

/** Per request: what the response handler and the log need to know. */
interface RequestState {
  readonly requestId: string
  rate: Decision | undefined
  /** True once the pre-response handler has run: the platform has written (or is writing) the response. */
  finalized: boolean
  /** True when REQUEST_TIMEOUT answered 503 in the handler's place. */
  timedOut: boolean
}

/** The route template the router matched (it annotates the request's span with it), or "unmatched". */
const routeOf = (span: Tracer.AnySpan | undefined): string => {
  if (span === undefined || span._tag !== "Span") return UNMATCHED
  const route = span.attributes.get("http.route")
  return typeof route === "string" ? route : UNMATCHED
}

const statusOf = (exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>): [number, Option.Option<Cause.Cause<unknown>>] => {
  if (Exit.isSuccess(exit)) return [exit.value.status, Option.none()]
  if (Cause.isInterruptedOnly(exit.cause)) return [499, Option.none()]
  const [response, cause] = HttpServerError.causeResponseStripped(exit.cause)
  return [response.status, cause]
}

export const HttpPipelineLive = Layer.scoped(
  HttpPipeline,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const security = config.security
    const limiter: ClientLimiter | undefined = Option.getOrUndefined(yield* makeClientLimiter)
    const clientIp = makeClientIp(security.trustProxy)
    const clientKey = makeClientKey(security.trustProxy)
    const cors = makeCors(security.corsOrigin)
    const compression = security.enableCompression
    const bodyLimit = security.bodyLimitBytes
    const metrics = config.enableMetrics ? makeHttpMetrics() : undefined
    const window = Duration.format(Duration.millis(security.rateLimitWindowMs))
    const tooLarge = seedResponse(413, bodyTooLargeMessage(bodyLimit))
    // a declared body this large is not even drained: the connection is closed after the 413
    const hugeBody = Math.max(16 * bodyLimit, 1024 * 1024)
    const tooLargeClose = seedResponse(413, bodyTooLargeMessage(bodyLimit), { connection: "close" })

    const staticHeaders = makeStaticHeaders({ helmet: security.enableHelmet, cors, origins: security.corsOrigin })

    const decorate = (
      request: HttpServerRequest.HttpServerRequest,
      response: HttpServerResponse.HttpServerResponse,
      state: RequestState
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      const fixed = staticHeaders(request.url, request.headers["origin"])
      // the handler's own headers win over the static ones
      let headers = Headers.set(Headers.merge(fixed, response.headers), "x-request-id", state.requestId)
      const rate = state.rate
      if (rate !== undefined && rate._tag === "Allowed") {
        headers = Headers.merge(headers, rateHeaders(rate.limit, rate.remaining, rate.resetSeconds))
      } else if (rate !== undefined && rate._tag === "Limited") {
        headers = Headers.set(Headers.merge(headers, rateHeaders(rate.limit, 0, rate.retryAfterSeconds)), "retry-after", String(rate.retryAfterSeconds))
      }
      if (response.status === 401 && response.headers["www-authenticate"] === undefined) headers = Headers.set(headers, "www-authenticate", bearerChallenge)
      const compressible = compression && request.method !== "HEAD" && isEligible(response)
      const vary = joinVary(response.headers["vary"], fixed["vary"], compressible ? "Accept-Encoding" : undefined)
      if (vary !== undefined && vary !== headers["vary"]) headers = Headers.set(headers, "vary", vary)
      const decorated = withHeaders(response, headers)
      if (!compressible) return Effect.succeed(decorated)
      const encoding = negotiate(request.headers["accept-encoding"])
      return encoding === undefined ? Effect.succeed(decorated) : compressResponse(decorated, encoding)
    }

    const finalize = (
      request: HttpServerRequest.HttpServerRequest,
      response: HttpServerResponse.HttpServerResponse,
      state: RequestState
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      state.finalized = true
      return response.status >= 400
        ? Effect.flatMap(normalize(request, response), (r) => decorate(request, r, state))
        : decorate(request, response, state)
    }

    const limited = (decision: Decision & { readonly _tag: "Limited" }) =>
      Effect.zipRight(
        Metric.increment(rateLimitedRequests),
        seedResponse(
          429,
          `too many requests: at most ${decision.limit} every ${window} from one client; retry in ${decision.retryAfterSeconds} s`
        )
      )

    const logRequest = (
      method: string,
      route: string,
      url: string,
      status: number,
      seconds: number,
      cause: Option.Option<Cause.Cause<unknown>>,
      minimumLevel: LogLevel.LogLevel
    ): Effect.Effect<void> => {
      if (metrics !== undefined) metrics.record(method, route, status, seconds)
      const level = status >= 500 ? LogLevel.Error : LogLevel.Info
      if (LogLevel.lessThan(level, minimumLevel)) return Effect.void
      const fields = { method, route, path: pathOf(url), status, durationMs: Math.round(seconds * 1e6) / 1e3 }
      const line =
        status >= 500 && Option.isSome(cause) ? Effect.logError("http request", cause.value) : Effect.logWithLevel(level, "http request")
      return Effect.annotateLogs(line, fields)
    }

    const observe = (
      request: HttpServerRequest.HttpServerRequest,
      exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>,
      seconds: number,
      span: Tracer.AnySpan | undefined,
      minimumLevel: LogLevel.LogLevel,
      timedOut: boolean
    ): Effect.Effect<void> => {
      const [status, cause] = timedOut ? [503, Option.none()] : statusOf(exit)
      const method = methods.has(request.method) ? request.method : "OTHER"
      return logRequest(method, routeOf(span), request.url, status, seconds, cause, minimumLevel)
    }

    /**
     * REQUEST_TIMEOUT: one native timer per request (racing the handler with Effect.timeout forks fibers
     * and measured ~80 µs a request). When it fires before the response has started, it answers 503 in
     * the seed format with the usual headers, straight on the Node response, then interrupts the
     * request's fiber (as a client abort would); the platform then writes nothing more.
     */
    const timeoutMs = Duration.toMillis(security.requestTimeout)
    const timeoutMessage = `the request did not complete within ${Duration.format(security.requestTimeout)}`
    const answerTimeout = (incoming: IncomingMessage, response: ServerResponse, requestId: string, nowMs: number): boolean => {
      if (response.headersSent || response.writableEnded) return false
      const body = JSON.stringify(seedError(503, timeoutMessage, nowMs))
      const headers: Record<string, string> = Object.assign({}, staticHeaders(incoming.url ?? "/", incoming.headers["origin"]), {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "x-request-id": requestId
      })
      response.writeHead(503, headers)
      response.end(body)
      return true
    }
    const onTimeout = (request: HttpServerRequest.HttpServerRequest, state: RequestState, fiber: Fiber.RuntimeFiber<unknown, unknown>, clock: Clock.Clock) => {
      if (state.finalized) return
      const incoming = NodeHttpServerRequest.toIncomingMessage(request)
      if (!answerTimeout(incoming, NodeHttpServerRequest.toServerResponse(request), state.requestId, clock.unsafeCurrentTimeMillis())) return
      state.timedOut = true
      fiber.unsafeInterruptAsFork(fiber.id())
    }

    const decidedOrConsume = (l: ClientLimiter, request: HttpServerRequest.HttpServerRequest): Effect.Effect<Decision> => {
      const earlier = decided.get(NodeHttpServerRequest.toIncomingMessage(request))
      return earlier === undefined ? l.consume(clientIp(request)) : Effect.succeed(earlier)
    }

    const middleware = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
      Effect.withFiberRuntime((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
        const start = clock.unsafeCurrentTimeNanos()
        const span = fiber.currentSpan
        const state: RequestState = {
          requestId: requestIdOf(request.headers["x-request-id"]),
          rate: undefined,
          finalized: false,
          timedOut: false
        }
        // the request's server span carries its id too, so a trace is found from the X-Request-Id of its answer
        if (span !== undefined && span._tag === "Span") span.attribute("requestId", state.requestId)
        const timer = setTimeout(onTimeout, timeoutMs, request, state, fiber, clock)
        const direct = (response: HttpServerResponse.HttpServerResponse) => finalize(request, response, state)
        const proceed = Effect.zipRight(
          HttpApp.appendPreResponseHandler((req, res) => finalize(req, res, state)),
          app
        )

        let handled: HttpApp.Default<E, R>
        const declaredLength = request.headers["content-length"]
        if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
          handled = direct(HttpServerResponse.empty({ status: 204, headers: cors.preflight(request.headers["origin"]) }))
        } else if (declaredLength !== undefined && Number(declaredLength) > bodyLimit) {
          handled = Effect.flatMap(Number(declaredLength) > hugeBody ? tooLargeClose : tooLarge, direct)
        } else {
          const withBody = isChunkedWithoutLength(request)
            ? Effect.flatMap(chunkedBodyWithin(request, bodyLimit), (within) => (within ? proceed : Effect.flatMap(tooLarge, direct)))
            : proceed
          handled =
            limiter === undefined || isPath(request.url, "/health") || isPath(request.url, METRICS_PATH)
              ? withBody
              : Effect.flatMap(decidedOrConsume(limiter, request), (decision) => {
                  state.rate = decision
                  return decision._tag === "Limited" ? Effect.flatMap(limited(decision), direct) : withBody
                })
        }

        const observed = Effect.onExit(
          // a response (or failure) from an inner middleware that never reached the app is finalized here
          Effect.matchCauseEffect(handled, {
            onSuccess: (response) => (state.finalized ? Effect.succeed(response) : direct(response)),
            onFailure: (cause) =>
              state.finalized
                ? Effect.failCause(cause)
                : Effect.flatMap(HttpServerError.causeResponse(cause), ([response, rest]) =>
                    response.status >= 500 && !Cause.isEmpty(rest)
                      ? Effect.zipRight(Effect.logError("http middleware failed", rest), direct(response))
                      : direct(response)
                  )
          }),
          (exit) => {
            clearTimeout(timer)
            const seconds = Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
            return observe(request, exit, seconds, span, fiber.getFiberRef(FiberRef.currentMinimumLogLevel), state.timedOut)
          }
        )
        return Effect.annotateLogs(observed, "requestId", state.requestId)
      })

    const rateLimit = (incoming: IncomingMessage): Effect.Effect<Decision | undefined> => {
      if (limiter === undefined) return Effect.succeed(undefined)
      const key = clientKey(incoming.socket.remoteAddress ?? "unknown", headerOf(incoming.headers["x-forwarded-for"]))
      return Effect.map(limiter.consume(key), (decision) => {
        decided.set(incoming, decision)
        return decision
      })
    }

    const respondJson = (
      incoming: IncomingMessage,
      response: ServerResponse,
      requestId: string,
      rate: Decision | undefined,
      json: string
    ): Effect.Effect<void> => {
      const fixed = staticHeaders(incoming.url ?? "/", incoming.headers["origin"])
      const headers: Record<string, string> = Object.assign({}, fixed, { "content-type": "application/json", "x-request-id": requestId })
      // (a limited request never reaches here: the lane hands it to the router, which answers 429)
      if (rate !== undefined && rate._tag === "Allowed") Object.assign(headers, rateHeaders(rate.limit, rate.remaining, rate.resetSeconds))
      const length = Buffer.byteLength(json)
      const compressible = compression && length >= MIN_BYTES
      const vary = joinVary(fixed["vary"], compressible ? "Accept-Encoding" : undefined)
      if (vary !== undefined) headers["vary"] = vary
      const encoding: Encoding | undefined = compressible ? negotiate(headerOf(incoming.headers["accept-encoding"])) : undefined
      if (encoding === undefined) {
        headers["content-length"] = String(length)
        response.writeHead(200, headers)
        response.end(json)
        return Effect.void
      }
      return Effect.match(compress(Buffer.from(json), encoding), {
        onFailure: () => {
          headers["content-length"] = String(length)
          response.writeHead(200, headers)
          response.end(json)
        },
        onSuccess: (bytes) => {
          headers["content-encoding"] = encoding
          headers["content-length"] = String(bytes.byteLength)
          response.writeHead(200, headers)
          response.end(bytes)
        }
      })
    }

    const direct: DirectLane = {
      rateLimit,
      respondJson,
      answerTimeout,
      timeoutMs,
      observe: (method, route, url, status, seconds) =>
        Effect.withFiberRuntime((fiber) =>
          logRequest(method, route, url, status, seconds, Option.none(), fiber.getFiberRef(FiberRef.currentMinimumLogLevel))
        )
    }

    return HttpPipeline.of({ middleware, direct })
  })
)
