import { type HttpApp, HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { AppConfig } from "../config.js"
import { seedErrors } from "./seedErrors.js"

/** The HTTP middleware chain, outermost first. */
export const middleware = (app: HttpApp.Default): HttpApp.Default => seedErrors(HttpMiddleware.logger(app))

/** Serves the API, its OpenAPI document at /openapi.json and the docs page at /docs. */
export const HttpAppLive = HttpApiBuilder.serve(middleware).pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }))
)

/** A real listening Node server on PORT (built last, so it never accepts a request it cannot serve). */
export const NodeServerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }), {
      port: config.port,
      host: config.host
    })
  )
)

export const withLogAddress = HttpServer.withLogAddress
