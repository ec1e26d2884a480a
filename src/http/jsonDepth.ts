import { type HttpApp, HttpServerRequest } from "@effect/platform"
import { Context, Effect } from "effect"
import { seedResponse } from "./errors.js"
import { VALIDATION_FAILED, refuseInvalid } from "./validation.js"

/** Deeper than any body of this API needs; deep enough to stay far from the stack's limit. */
export const MAX_JSON_DEPTH = 32

/**
 * The nesting depth of a JSON text, counted without parsing it (strings and escapes are skipped).
 * O(length), no recursion: safe on hostile input.
 */
export const jsonDepth = (text: string): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      depth++
      if (depth > max) max = depth
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return max
}

/** Exactly what the platform's payload decoder reads as JSON; anything else it would read again as bytes. */
const isJson = (contentType: string): boolean => (contentType.split(";")[0]?.trim().toLowerCase() ?? "") === "application/json"

/**
 * Every body this API takes is JSON. Before schema decoding: a body of another media type is a 415
 * (the platform would otherwise try to parse e.g. multipart and fail as a defect), and a JSON body
 * nested deeper than MAX_JSON_DEPTH is a 400 (formatting a decode error for a value thousands of
 * levels deep would overflow the stack).
 */
export const jsonBodyGuard = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
    if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS") return app
    const contentType = request.headers["content-type"]
    return Effect.flatMap(Effect.option(request.text), (text) => {
      if (text._tag === "None" || text.value.length === 0) return app
      if (contentType !== undefined && !isJson(contentType)) {
        return seedResponse(415, "the request body must be JSON (Content-Type: application/json)")
      }
      if (jsonDepth(text.value) > MAX_JSON_DEPTH) {
        return refuseInvalid(`${VALIDATION_FAILED}: the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`)
      }
      return app
    })
  })
