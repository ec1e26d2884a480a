import { Context, Effect, Option, Runtime } from "effect"
import { IncomingMessage, Server, type ServerOptions, ServerResponse } from "node:http"
import { AppConfig } from "../config.js"
import { HttpPipeline, requestIdOf } from "./Pipeline.js"

/**
 * The hottest reads (GET /api/session/:sessionId, GET /api/content) answered straight on Node's
 * request and response, in front of the HttpApi router.
 *
 * Why: the platform's request handling (router, request wrapper, span, pre-response handlers,
 * response conversion) costs about 110-120 µs of CPU per request on this machine before any of our
 * code runs: as much again as the whole bare node:http + pg request (bench/RESULTS.md). A read that
 * is one indexed query cannot afford it and stay ahead of Express.
 *
 * What stays the same: the lane serves only the success path. It decodes the request with the
 * endpoint's own schemas, runs the same services (ownership, Sessions, Contents) and writes the
 * body the endpoint's success schema would (see `wireJson`); the HTTP pipeline's `direct` lane gives it the same
 * rate limit, headers, compression, timeout, log line and metrics. Every other outcome (a decode
 * failure, a refused token, an unknown id, a limited client, a database error, a defect) is handed to
 * the router untouched, which answers it the usual way; the rate-limit decision goes with it, so it
 * is counted once. The HttpApi definition stays the contract (OpenAPI, typed client); the tests
 * compare both lanes byte for byte (test/hot-reads.test.ts).
 *
 * HOT_READS=false turns the lane off.
 */

/** One hot route. */
export interface HotRead {
  /** The route's template, as the router names it in logs and metrics. */
  readonly route: string
  /** The path parameters if `path` is this route's (no query string), else undefined. */
  readonly match: (path: string) => ReadonlyArray<string> | undefined
  /**
   * The 200's JSON body, or None for anything else (the router then answers it).
   * `query`: the query string's parameters, none repeated.
   */
  readonly handle: (
    params: ReadonlyArray<string>,
    query: Readonly<Record<string, string>>,
    authorization: string | undefined
  ) => Effect.Effect<Option.Option<string>>
}

export class HotReads extends Context.Tag("payg/HotReads")<
  HotReads,
  {
    /** Takes the request (true) or leaves it to `next`, the router (false, at once or later). */
    readonly serve: (incoming: IncomingMessage, response: ServerResponse, next: () => void) => boolean
  }
>() {}

/** The query string as a record; None if a parameter is repeated (the router decides what that means). */
const queryOf = (search: string): Option.Option<Record<string, string>> => {
  const out: Record<string, string> = {}
  if (search.length === 0) return Option.some(out)
  for (const [key, value] of new URLSearchParams(search)) {
    if (Object.hasOwn(out, key)) return Option.none()
    out[key] = value
  }
  return Option.some(out)
}

/** A GET without a body, which is all the lane takes. */
const isPlainGet = (incoming: IncomingMessage): boolean =>
  incoming.method === "GET" &&
  incoming.headers["transfer-encoding"] === undefined &&
  (incoming.headers["content-length"] === undefined || incoming.headers["content-length"] === "0")

/**
 * The JSON of a response body whose schema's only transformation is bigint amounts to decimal strings
 * (`AmountString`): what encoding with the schema and serialising gives, at a fraction of the cost.
 * Running the schema's encoder measured 50-80 µs per catalogue page in the lane, a fifth of the whole
 * request. test/hot-reads.test.ts holds the two lanes byte for byte equal, so a schema that gains
 * another transformation fails there, and the typed client's tests decode every lane answer with
 * the schema. Any other part needing encoding (the catalogue's cursor) is encoded before this.
 */
export const wireJson = (body: unknown): Effect.Effect<Option.Option<string>> =>
  Effect.sync(() => Option.some(JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))))

export const makeHotReads = (routes: ReadonlyArray<HotRead>) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const lane = (yield* HttpPipeline).direct
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const enabled = config.hotReads && routes.length > 0

    const serve = (incoming: IncomingMessage, response: ServerResponse, next: () => void): boolean => {
      if (!enabled || !isPlainGet(incoming)) return false
      const url = incoming.url ?? "/"
      const q = url.indexOf("?")
      const path = q === -1 ? url : url.slice(0, q)
      let route: HotRead | undefined
      let params: ReadonlyArray<string> | undefined
      for (const r of routes) {
        params = r.match(path)
        if (params !== undefined) {
          route = r
          break
        }
      }
      if (route === undefined || params === undefined) return false
      const query = queryOf(q === -1 ? "" : url.slice(q + 1))
      if (Option.isNone(query)) return false

      const given = incoming.headers["x-request-id"]
      const requestId = requestIdOf(typeof given === "string" ? given : undefined)
      const hot = route
      const found = params
      let settled = false
      const handOn = () => {
        if (settled) return
        settled = true
        next()
      }
      const program = Effect.gen(function* () {
        const clock = yield* Effect.clock
        const started = clock.unsafeCurrentTimeNanos()
        const timer = setTimeout(() => {
          if (settled) return
          settled = true
          if (!lane.answerTimeout(incoming, response, requestId, clock.unsafeCurrentTimeMillis())) return
          fiber.unsafeInterruptAsFork(fiber.id())
          const seconds = Number(clock.unsafeCurrentTimeNanos() - started) / 1e9
          runFork(Effect.annotateLogs(lane.observe("GET", hot.route, url, 503, seconds), "requestId", requestId))
        }, lane.timeoutMs)
        const rate = yield* lane.rateLimit(incoming)
        const body = rate?._tag === "Limited" ? Option.none() : yield* hot.handle(found, query.value, incoming.headers["authorization"])
        clearTimeout(timer)
        if (settled) return
        if (Option.isNone(body)) return handOn()
        settled = true
        yield* lane.respondJson(incoming, response, requestId, rate, body.value)
        // the request id annotates the log line only: on the success path nothing else logs
        yield* Effect.annotateLogs(lane.observe("GET", hot.route, url, 200, Number(clock.unsafeCurrentTimeNanos() - started) / 1e9), "requestId", requestId)
      }).pipe(
        // a defect is the router's to answer and log
        Effect.catchAllCause(() => Effect.sync(handOn))
      )
      const fiber = runFork(program)
      return true
    }

    return HotReads.of({ serve })
  })

/**
 * Node's HTTP server with the hot lane in front of its "request" listeners (the platform's router).
 * Overriding `emit` is the one place Node lets a request be taken before its listeners see it.
 */
export class HotServer extends Server {
  constructor(
    options: ServerOptions,
    private readonly hot: HotReads["Type"]
  ) {
    super(options)
  }

  override emit(event: string, ...args: Array<unknown>): boolean {
    if (event === "request") {
      const [incoming, response] = args
      if (incoming instanceof IncomingMessage && response instanceof ServerResponse) {
        if (this.hot.serve(incoming, response, () => super.emit(event, ...args))) return true
      }
    }
    return super.emit(event, ...args)
  }
}
