import { Headers, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect } from "effect"
import type { CorsPolicy } from "../Security.js"
import { type Middleware, varyOn, withHeaders } from "./Middleware.js"

/** CORS: answers preflights (204) before anything else, and gives every answer the origin's headers. */
export const cors = (policy: CorsPolicy): Middleware => {
  // the policy's few header sets, split once each into Vary and the rest
  const parts = new Map<Readonly<Record<string, string>>, { readonly headers: Headers.Headers; readonly vary: string | undefined }>()
  const split = (record: Readonly<Record<string, string>>) => {
    const known = parts.get(record)
    if (known !== undefined) return known
    const { vary, ...rest } = record
    const made = { headers: Headers.unsafeFromRecord(rest), vary }
    parts.set(record, made)
    return made
  }
  return (app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const origin = request.headers["origin"]
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
        return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: Headers.unsafeFromRecord(policy.preflight(origin)) }))
      }
      const { headers, vary } = split(policy.headers(origin))
      const decorate = HttpApp.appendPreResponseHandler((_, response) => {
        // the handler's own headers win; Vary adds to theirs
        const merged = Headers.merge(headers, response.headers)
        return Effect.succeed(withHeaders(response, vary === undefined ? merged : varyOn(merged, vary)))
      })
      return Effect.zipRight(decorate, app)
    })
  }
