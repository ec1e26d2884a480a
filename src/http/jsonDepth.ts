import { type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Effect } from "effect"
import { seedError } from "./errors.js"

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

/**
 * Refuses JSON bodies nested deeper than MAX_JSON_DEPTH with a 400, before schema decoding: formatting
 * a decode error for a value thousands of levels deep would overflow the stack.
 */
export const jsonDepthGuard = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method === "GET" || request.method === "HEAD" || !(request.headers["content-type"] ?? "").includes("json")) {
      return yield* app
    }
    const text = yield* Effect.option(request.text)
    if (text._tag === "Some" && jsonDepth(text.value) > MAX_JSON_DEPTH) {
      const now = yield* Clock.currentTimeMillis
      return HttpServerResponse.unsafeJson(seedError(400, `invalid request: the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`, now), {
        status: 400
      })
    }
    return yield* app
  })
