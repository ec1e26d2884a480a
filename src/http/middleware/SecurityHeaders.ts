import { Headers, HttpApp, HttpServerRequest } from "@effect/platform"
import { Context, Effect } from "effect"
import { helmetDocsHeaders, helmetHeaders, isDocsUrl } from "../Security.js"
import { type Middleware, withHeaders } from "./Middleware.js"

const api = Headers.unsafeFromRecord(helmetHeaders)
const docs = Headers.unsafeFromRecord(helmetDocsHeaders)

/** ENABLE_HELMET: helmet's headers on every answer (the docs page's CSP lets its inline script run). */
export const securityHeaders: Middleware = (app) =>
  Effect.withFiberRuntime((fiber) => {
    const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
    const fixed = isDocsUrl(request.url) ? docs : api
    // the handler's own headers win
    return Effect.zipRight(
      HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(withHeaders(response, Headers.merge(fixed, response.headers)))),
      app
    )
  })
