import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { constTrue } from "effect/Function"
import { type Server, createServer } from "node:http"
import type { Duplex } from "node:stream"
import { Tokens } from "../auth/Tokens.js"
import { AppConfig } from "../config.js"
import { MetricsRouteLive } from "../metrics/Http.js"
import { BodyLimitLive } from "./Guards.js"
import { seedError } from "./errors.js"
import { idempotency, leaseFor } from "./idempotency.js"
import { jsonBodyGuard } from "./jsonDepth.js"
import { HttpPipeline } from "./Pipeline.js"
import { RouterConfigLive, makeAllowed, methodNotAllowed, serverRoutes } from "./Routes.js"
import { DOCS_PATH } from "./Security.js"
import { ValidationFailuresLive } from "./validation.js"
import { WatchPageLive } from "../watch/Static.js"

/**
 * Serves the API, its OpenAPI document at /openapi.json, the docs page at /docs, the watch page at
 * /watch (src/watch/Static.ts) and, when ENABLE_METRICS, /metrics. The middleware chain, outermost first: the HTTP pipeline (request id,
 * log, metrics, CORS, rate limit, body limit, request timeout, security headers, compression, the
 * seed's error body; see Pipeline.ts), the JSON body guard (media type, depth), then idempotency keys
 * (leased for REQUEST_TIMEOUT + 10 s, scoped by the token's caller). 405 for a known path's other
 * methods is a pre-response handler set once for the server (Routes.ts). The router matches paths
 * case-sensitively.
 */
export const HttpAppLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const pipeline = yield* HttpPipeline
    const config = yield* AppConfig
    const keys = idempotency({ ...leaseFor(config.security.requestTimeout), tokens: yield* Tokens })
    const served = HttpApiBuilder.serve((app) => pipeline.middleware(jsonBodyGuard(keys(app)))).pipe(
      Layer.provide(HttpApiSwagger.layer({ path: DOCS_PATH })),
      Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
      Layer.provide(ValidationFailuresLive),
      Layer.provide(MetricsRouteLive),
      Layer.provide(WatchPageLive),
      Layer.provide(BodyLimitLive),
      Layer.provide(RouterConfigLive),
      methodNotAllowed(makeAllowed(serverRoutes(config.enableMetrics)))
    )
    // the platform's server span per request only when it is exported (the log line and the metrics
    // read the route template from Routes.makeRouteTemplate, not from the span)
    return Option.isSome(config.tracing.endpoint) ? served : HttpMiddleware.withTracerDisabledWhen(served, constTrue)
  })
)

/**
 * Requests Node itself rejects before any app code runs (bytes that are not HTTP, a malformed request
 * line, oversized headers) still get the seed's error body rather than Node's bare status line.
 */
export const withSeedClientErrors = (server: Server): Server =>
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy()
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400
    const body = JSON.stringify(
      seedError(status, status === 431 ? "the request headers are too large" : "the request is not valid HTTP", Date.now())
    )
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
    )
  })

/** A real listening Node server on `port`: every request goes to the router (HttpAppLive). */
export const nodeServerOn = (listen: { readonly port: number; readonly host: string }) =>
  NodeHttpServer.layer(() => withSeedClientErrors(createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 })), listen)

/** The server on PORT and HOST. */
export const NodeServerLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) => nodeServerOn({ port: config.port, host: config.host })))

export const withLogAddress = HttpServer.withLogAddress
