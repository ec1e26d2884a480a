import type { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect } from "effect"
import type { IncomingMessage } from "node:http"

/**
 * BODY_LIMIT_BYTES for bodies sent without a Content-Length (chunked transfer encoding).
 *
 * A declared Content-Length is checked before anything is read (Node enforces the framing). A chunked
 * body can only be measured by reading it, and the platform's own limit (MaxBodySize) answers an
 * oversized one by destroying the request stream, which resets the connection: the client would never
 * see a 413. So such a body is read here first, in paused mode, at most BODY_LIMIT_BYTES (+ one chunk)
 * held in memory: over the limit, the rest is drained and discarded and the caller answers 413 on a
 * healthy connection; within it, the bytes are put back (`unshift`) for the platform to read as usual.
 * Requests with a Content-Length, the common case, never come here.
 */

export const isChunkedWithoutLength = (request: HttpServerRequest.HttpServerRequest): boolean =>
  request.headers["content-length"] === undefined && request.headers["transfer-encoding"] !== undefined

const measure = (source: IncomingMessage, limit: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    // nothing left to read (or already being read by someone else): leave the stream alone
    if (source.readableEnded || source.readableFlowing === true || (source.complete && source.readableLength === 0)) {
      return resume(Effect.succeed(true))
    }
    const chunks: Array<Buffer> = []
    let total = 0
    let settled = false
    const finish = (withinLimit: boolean) => {
      settled = true
      source.off("readable", onReadable)
      source.off("error", onError)
      resume(Effect.succeed(withinLimit))
    }
    const onError = () => {
      if (!settled) finish(true) // the platform's reader will meet the same error and answer it
    }
    function onReadable() {
      if (settled) return
      let chunk: unknown
      while ((chunk = source.read()) !== null) {
        if (!Buffer.isBuffer(chunk)) continue
        chunks.push(chunk)
        total += chunk.byteLength
        if (total > limit) {
          chunks.length = 0
          finish(false)
          source.resume() // drain and discard the rest
          return
        }
      }
      if (source.complete) {
        // the whole body is in hand: give it back, in order, before 'end' can be emitted
        for (let i = chunks.length - 1; i >= 0; i--) {
          const c = chunks[i]
          if (c !== undefined) source.unshift(c)
        }
        finish(true)
      }
    }
    source.on("readable", onReadable)
    source.on("error", onError)
    return Effect.sync(() => {
      if (!settled) {
        settled = true
        source.off("readable", onReadable)
        source.off("error", onError)
      }
    })
  })

/** True when the request's chunked body is within `limit` (its bytes are then left for the app to read). */
export const chunkedBodyWithin = (request: HttpServerRequest.HttpServerRequest, limit: number): Effect.Effect<boolean> =>
  Effect.suspend(() => measure(NodeHttpServerRequest.toIncomingMessage(request), limit))
