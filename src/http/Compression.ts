import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { brotliCompress, constants, gzip } from "node:zlib"

/**
 * gzip / brotli of response bodies (ENABLE_COMPRESSION): only bodies held in memory, of a textual
 * type, from MIN_BYTES up, when the client accepts an encoding. Compression runs on libuv's thread
 * pool, not on the event loop. Large constant bodies (the docs page, the OpenAPI document) are
 * compressed once and remembered by identity.
 */

export type Encoding = "br" | "gzip"

export const MIN_BYTES = 1024
const CACHE_FROM_BYTES = 32 * 1024

const compressibleType = /^(?:text\/|application\/(?:json|javascript|xml|[a-z0-9.+-]*\+(?:json|xml))|image\/svg\+xml)/i

export const isCompressibleType = (contentType: string | undefined): boolean =>
  contentType !== undefined && compressibleType.test(contentType)

/**
 * The encoding to use for an Accept-Encoding header: brotli when accepted at least as much as gzip,
 * else gzip; q=0 refuses an encoding; `*` stands for any encoding not named.
 */
export const negotiate = (acceptEncoding: string | undefined): Encoding | undefined => {
  if (acceptEncoding === undefined || acceptEncoding.length === 0) return undefined
  let br = -1
  let gz = -1
  let any = -1
  for (const part of acceptEncoding.split(",")) {
    const [rawName, ...params] = part.split(";")
    const name = (rawName ?? "").trim().toLowerCase()
    let q = 1
    for (const p of params) {
      const [k, v] = p.split("=")
      if (k !== undefined && k.trim().toLowerCase() === "q" && v !== undefined) {
        const parsed = Number.parseFloat(v)
        q = Number.isNaN(parsed) ? 0 : parsed
      }
    }
    if (name === "br") br = q
    else if (name === "gzip" || name === "x-gzip") gz = q
    else if (name === "*") any = q
  }
  if (br === -1) br = any
  if (gz === -1) gz = any
  if (br > 0 && br >= gz) return "br"
  if (gz > 0) return "gzip"
  return undefined
}

const brotliOptions = (size: number) => ({
  params: {
    // quality 4: close to gzip's speed with smaller output; 11 (the default) is far too slow for live responses
    [constants.BROTLI_PARAM_QUALITY]: 4,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    [constants.BROTLI_PARAM_SIZE_HINT]: size
  }
})

export const compress = (body: Uint8Array, encoding: Encoding): Effect.Effect<Uint8Array, Error> =>
  Effect.async<Uint8Array, Error>((resume) => {
    const done = (error: Error | null, result: Buffer) => resume(error ? Effect.fail(error) : Effect.succeed(new Uint8Array(result.buffer, result.byteOffset, result.byteLength)))
    if (encoding === "br") brotliCompress(body, brotliOptions(body.byteLength), done)
    else gzip(body, { level: 6 }, done)
  })

const cache = new WeakMap<Uint8Array, Partial<Record<Encoding, Uint8Array>>>()

const compressCached = (body: Uint8Array, encoding: Encoding): Effect.Effect<Uint8Array, Error> => {
  if (body.byteLength < CACHE_FROM_BYTES) return compress(body, encoding)
  const entry = cache.get(body)
  const hit = entry?.[encoding]
  if (hit !== undefined) return Effect.succeed(hit)
  return Effect.tap(compress(body, encoding), (out) =>
    Effect.sync(() => {
      cache.set(body, { ...entry, [encoding]: out })
    })
  )
}

/** Whether a response's representation depends on Accept-Encoding (so caches must Vary on it). */
export const isEligible = (response: HttpServerResponse.HttpServerResponse): boolean => {
  const body = response.body
  return (
    body._tag === "Uint8Array" &&
    body.body.byteLength >= MIN_BYTES &&
    response.status !== 204 &&
    response.status !== 206 &&
    response.headers["content-encoding"] === undefined &&
    isCompressibleType(body.contentType)
  )
}

/** The response with its body compressed in `encoding`; on a compression failure, unchanged. */
export const compressResponse = (
  response: HttpServerResponse.HttpServerResponse,
  encoding: Encoding
): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
  const body = response.body
  if (body._tag !== "Uint8Array") return Effect.succeed(response)
  return compressCached(body.body, encoding).pipe(
    Effect.map((compressed) =>
      HttpServerResponse.uint8Array(compressed, {
        status: response.status,
        // Object.assign, not a spread: spreading a Headers object is very slow (see Pipeline.ts)
        headers: Object.assign({}, response.headers, { "content-encoding": encoding }),
        contentType: body.contentType,
        cookies: response.cookies
      })
    ),
    Effect.orElseSucceed(() => response)
  )
}
