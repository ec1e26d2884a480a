import { watchRoutes } from "../watch/Static.js"
import { HttpApi, HttpApp, type HttpApiGroup, HttpRouter, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { PaygApi } from "../Api.js"
import { METRICS_PATH } from "../metrics/Http.js"
import { seedResponse } from "./errors.js"
import { DOCS_PATH } from "./Security.js"

/**
 * What the router knows about paths, beyond matching them:
 * - **Paths are case-sensitive** (RFC 3986: only the scheme and host are not). `/API/content` is no
 *   route (404), as the hostile-input test expects; the router's own default is case-insensitive.
 * - **A known path with an unsupported method is 405**, in the seed's error format, with `Allow`
 *   naming the methods the path has (RFC 9110 §15.5.6), instead of the router's plain 404.
 */

export const RouterConfigLive = HttpRouter.setRouterConfig({ caseSensitive: true })

export interface Route {
  readonly method: string
  readonly path: string
}

/** Every endpoint of an HttpApi as (method, path template). */
export const routesOf = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): ReadonlyArray<Route> => {
  const routes: Array<Route> = []
  HttpApi.reflect(api, {
    onGroup: () => undefined,
    onEndpoint: ({ endpoint }) => void routes.push({ method: endpoint.method, path: endpoint.path })
  })
  return routes
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** A path template (`/api/session/:sessionId`) as a case-sensitive pattern of the whole path. */
const patternOf = (template: string): RegExp =>
  new RegExp(`^${template.split("/").map((segment) => (segment.startsWith(":") ? "[^/]+" : escape(segment))).join("/")}$`)

/** A request path without its query string and trailing slash. */
const trimmedPath = (url: string): string => {
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path
}

/** The methods a path may be called with (GET also allows HEAD); empty for a path no route has. */
export const makeAllowed = (routes: ReadonlyArray<Route>) => {
  const compiled = routes.map((r) => ({ method: r.method, pattern: patternOf(r.path) }))
  return (path: string): ReadonlyArray<string> => {
    const trimmed = trimmedPath(path)
    const found = new Set<string>()
    for (const r of compiled) if (r.pattern.test(trimmed)) found.add(r.method)
    if (found.has("GET")) found.add("HEAD")
    return [...found].sort()
  }
}

/**
 * The route template a request matches (`/api/session/:sessionId`), as the log line and the metrics
 * label it; "unmatched" for a request no route answers (a 404, a 405). Paths are matched as the
 * router matches them (case-sensitively; HEAD by the GET route); literal templates are looked up
 * first, so `/api/session/start` is never read as `/api/session/:sessionId`.
 */
export const makeRouteTemplate = (routes: ReadonlyArray<Route>) => {
  const literal = new Map<string, string>()
  const patterns = new Map<string, Array<{ readonly template: string; readonly pattern: RegExp }>>()
  for (const r of routes) {
    if (r.path.includes(":")) {
      const list = patterns.get(r.method) ?? []
      list.push({ template: r.path, pattern: patternOf(r.path) })
      patterns.set(r.method, list)
    } else literal.set(`${r.method} ${r.path}`, r.path)
  }
  const find = (method: string, path: string): string | undefined => {
    const exact = literal.get(`${method} ${path}`)
    if (exact !== undefined) return exact
    for (const r of patterns.get(method) ?? []) if (r.pattern.test(path)) return r.template
    return undefined
  }
  return (method: string, url: string): string => {
    const path = trimmedPath(url)
    return find(method, path) ?? (method === "HEAD" ? find("GET", path) : undefined) ?? "unmatched"
  }
}

/** Every route the server answers: the API's endpoints, its OpenAPI document, the docs page and, when enabled, /metrics. */
export const serverRoutes = (enableMetrics: boolean): ReadonlyArray<Route> => [
  ...routesOf(PaygApi),
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: DOCS_PATH },
  ...(enableMetrics ? [{ method: "GET", path: METRICS_PATH }] : []),
  ...watchRoutes
]

/**
 * Turns the router's "no route" (a 404 with no body) for a known path into 405 with `Allow`. A
 * pre-response handler, because the router's failure is rendered into that 404 before any middleware
 * sees it; set once for the whole server (every request's fiber starts with it), so it runs first,
 * before the pipeline's (which gives every error the seed's headers).
 */
export const methodNotAllowed = (allowed: (path: string) => ReadonlyArray<string>) => {
  const handler = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
    if (response.status !== 404 || response.body._tag !== "Empty") return Effect.succeed(response)
    const path = request.url.split("?")[0] ?? "/"
    const methods = allowed(path)
    if (methods.length === 0) return Effect.succeed(response)
    return seedResponse(405, `${request.method} is not supported on ${path}; use ${methods.join(", ")}`, { allow: methods.join(", ") })
  }
  return <A, E, R>(server: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
    Layer.locally(server, HttpApp.currentPreResponseHandlers, Option.some(handler))
}
