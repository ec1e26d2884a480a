import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { readFileSync, readdirSync } from "node:fs"
import { extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { seedResponse } from "../http/errors.js"
import { StartupError } from "../platform/StartupError.js"

/** Where the page is served; `${WATCH_PATH}/<file>` serves the other files of web/. */
export const WATCH_PATH = "/watch"

/** The page's files: web/ at the repository's root, two levels above this module in src/ and in dist/. */
const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url))

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml"
}

/**
 * The page's own Content-Security-Policy: everything from this origin only, no inline script or style,
 * no framing by others. (No upgrade-insecure-requests: the development server is plain http.) It
 * replaces the API's default policy, since a handler's headers win over the pipeline's.
 */
export const WATCH_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self'"
].join(";")

interface StaticFile {
  readonly body: Uint8Array
  readonly contentType: string
  readonly etag: string
}

/** Every servable file of web/, read once at start-up (a few kilobytes): by URL path. */
const loadFiles = Effect.try({
  try: () => {
    const files = new Map<string, StaticFile>()
    for (const name of readdirSync(WEB_DIR)) {
      const contentType = contentTypes[extname(name)]
      if (contentType === undefined) continue
      const body = readFileSync(join(WEB_DIR, name))
      const file = { body, contentType, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` }
      files.set(`${WATCH_PATH}/${name}`, file)
      if (name === "index.html") {
        files.set(WATCH_PATH, file)
        files.set(`${WATCH_PATH}/`, file)
      }
    }
    if (!files.has(WATCH_PATH)) throw new Error(`${WEB_DIR}index.html is missing`)
    return files
  },
  catch: (e) => new StartupError({ reason: `the watch page cannot be read: ${e instanceof Error ? e.message : String(e)}` })
})

/**
 * GET /watch and /watch/<file>: the static watch page, through the same pipeline as every route.
 * Revalidated on every load (`no-cache` with an ETag, 304 when unchanged), so a new deployment's page
 * is picked up at once and an unchanged one costs no body.
 */
export const WatchPageLive = Layer.unwrapEffect(
  Effect.map(loadFiles, (files) => {
    const serve = Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?")[0] ?? ""
      const file = files.get(path)
      // a body, so the router's 405 for known paths leaves it alone
      if (file === undefined) return yield* seedResponse(404, `the watch page has no file ${path}`)
      const headers = { "cache-control": "no-cache", etag: file.etag, "content-security-policy": WATCH_CSP }
      if (request.headers["if-none-match"] === file.etag) return HttpServerResponse.empty({ status: 304, headers })
      return HttpServerResponse.uint8Array(file.body, { contentType: file.contentType, headers })
    })
    return HttpApiBuilder.Router.use((router) => Effect.all([router.get(WATCH_PATH, serve), router.get(`${WATCH_PATH}/:file`, serve)], { discard: true }))
  })
)

/** The routes WatchPageLive adds, for the router's 405 answers. */
export const watchRoutes = [
  { method: "GET", path: WATCH_PATH },
  { method: "GET", path: `${WATCH_PATH}/:file` }
] as const
