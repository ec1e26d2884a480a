import { Headers } from "@effect/platform"

/**
 * Response header sets, computed once at start-up: the request path only picks one.
 */

/** Where the interactive API documentation is served (it needs a looser CSP, see below). */
export const DOCS_PATH = "/docs"

const helmetCommon: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "SAMEORIGIN",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0"
}

/** helmet's default Content-Security-Policy. */
const defaultCsp = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' https: data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' https: 'unsafe-inline'",
  "upgrade-insecure-requests"
].join(";")

/**
 * The docs page inlines Swagger UI's script and stylesheet, so it needs 'unsafe-inline' for scripts;
 * everything else stays as strict as the default, and "Try it out" may only call this origin.
 * No upgrade-insecure-requests: it would send those calls to https:// on a plain-http development server.
 */
const docsCsp = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' https: data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self' 'unsafe-inline'",
  "script-src-attr 'none'",
  "style-src 'self' https: 'unsafe-inline'"
].join(";")

/** Security headers equivalent to helmet's defaults (ENABLE_HELMET). */
export const helmetHeaders: Readonly<Record<string, string>> = { ...helmetCommon, "content-security-policy": defaultCsp }
export const helmetDocsHeaders: Readonly<Record<string, string>> = { ...helmetCommon, "content-security-policy": docsCsp }

export const isDocsUrl = (url: string): boolean =>
  url.startsWith(DOCS_PATH) && (url.length === DOCS_PATH.length || url[DOCS_PATH.length] === "?" || url[DOCS_PATH.length] === "/")

// ---------------------------------------------------------------------------------------------
// CORS

const allowMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
const allowHeaders = "authorization, content-type, idempotency-key, x-request-id"
const exposeHeaders = "x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset"
const preflightMaxAge = "600"

export interface CorsPolicy {
  /** Headers for an ordinary response to a request from `origin` (the request's Origin header). */
  readonly headers: (origin: string | undefined) => Readonly<Record<string, string>>
  /** Headers for the answer to a preflight from `origin`. */
  readonly preflight: (origin: string | undefined) => Readonly<Record<string, string>>
}

/**
 * CORS from CORS_ORIGIN. Each allowed origin is echoed back (with credentials), one at a time, as the
 * standard requires; any other origin gets no Access-Control-Allow-Origin, which a browser enforces.
 * "*" allows every origin without credentials (bearer tokens need none). Records are built once per
 * configured origin, so a request only looks one up.
 */
export const makeCors = (origins: ReadonlyArray<string>): CorsPolicy => {
  const wildcard = origins.includes("*")
  const vary = { vary: "Origin" }
  const perOrigin = new Map<string, { readonly headers: Record<string, string>; readonly preflight: Record<string, string> }>()
  for (const origin of origins) {
    if (origin === "*") continue
    const normalized = origin.replace(/\/+$/, "")
    const headers = {
      "access-control-allow-origin": normalized,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": exposeHeaders,
      ...vary
    }
    perOrigin.set(normalized, {
      headers,
      preflight: {
        ...headers,
        "access-control-allow-methods": allowMethods,
        "access-control-allow-headers": allowHeaders,
        "access-control-max-age": preflightMaxAge
      }
    })
  }
  const anyHeaders = { "access-control-allow-origin": "*", "access-control-expose-headers": exposeHeaders }
  const anyPreflight = {
    ...anyHeaders,
    "access-control-allow-methods": allowMethods,
    "access-control-allow-headers": allowHeaders,
    "access-control-max-age": preflightMaxAge
  }
  const none: Readonly<Record<string, string>> = wildcard ? anyHeaders : vary
  const nonePreflight: Readonly<Record<string, string>> = wildcard ? anyPreflight : vary
  return {
    headers: (origin) => (origin === undefined ? none : (perOrigin.get(origin)?.headers ?? none)),
    preflight: (origin) => (origin === undefined ? nonePreflight : (perOrigin.get(origin)?.preflight ?? nonePreflight))
  }
}

// ---------------------------------------------------------------------------------------------
// The static part of every response's headers

/**
 * Security headers (when enabled) plus CORS headers, as ready-made `Headers`, one set per allowed
 * origin (and one for any other origin) and per page kind (the docs page or anything else). A request
 * only picks one: nothing is assembled per request.
 */
export const makeStaticHeaders = (options: { readonly helmet: boolean; readonly cors: CorsPolicy; readonly origins: ReadonlyArray<string> }) => {
  const build = (origin: string | undefined, docs: boolean): Headers.Headers =>
    Headers.unsafeFromRecord({
      ...(options.helmet ? (docs ? helmetDocsHeaders : helmetHeaders) : {}),
      ...options.cors.headers(origin)
    })
  const perOrigin = new Map<string, { readonly api: Headers.Headers; readonly docs: Headers.Headers }>()
  for (const origin of options.origins) {
    const normalized = origin.replace(/\/+$/, "")
    if (normalized !== "*") perOrigin.set(normalized, { api: build(normalized, false), docs: build(normalized, true) })
  }
  const other = { api: build(undefined, false), docs: build(undefined, true) }
  return (url: string, origin: string | undefined): Headers.Headers => {
    const set = (origin === undefined ? undefined : perOrigin.get(origin)) ?? other
    return isDocsUrl(url) ? set.docs : set.api
  }
}
