import { Headers, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect } from "effect"
import type { CorsPolicy } from "../Security.js"
import { type Stage, varyOn } from "./Middleware.js"

/** A CORS preflight: answered by the CORS stage itself, before the stages after it. */
export const isPreflight = (request: HttpServerRequest.HttpServerRequest): boolean =>
  request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined

/** CORS: answers preflights (204) before anything else, and gives every other answer the origin's headers. */
export const cors = (policy: CorsPolicy): Stage => {
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
  return {
    around: (app) =>
      Effect.withFiberRuntime((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        if (!isPreflight(request)) return app
        return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: Headers.unsafeFromRecord(policy.preflight(request.headers["origin"])) }))
      }),
    headers: (request, headers) => {
      if (isPreflight(request)) return headers
      const { headers: origin, vary } = split(policy.headers(request.headers["origin"]))
      // the handler's own headers win; Vary adds to theirs
      const merged = Headers.merge(origin, headers)
      return vary === undefined ? merged : varyOn(merged, vary)
    }
  }
}
