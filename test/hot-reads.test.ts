import { HttpServer } from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import { type IncomingHttpHeaders, createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import { type HotRead, HotReads, makeHotReads } from "../src/http/HotReads.js"
import { HttpPipelineLive } from "../src/http/Pipeline.js"
import { configFrom } from "./support/app.js"
import { type Answer, IsolatedApp, TEST_JWT_SECRET, alice, bearer, bob, captureLogs, get, postJson, signIn } from "./support/security.js"
import { TimeTravel } from "./support/clock.js"
import { fundedViewer } from "./support/users.js"

/**
 * The hot read lane (src/http/HotReads.ts) answers GET /api/session/:id and GET /api/content in front
 * of the router. It must answer exactly as the router would, and hand every other outcome to it.
 */

const CONTENT = "intro-to-defi"

/** Headers that differ between any two answers: the clock, the request id, the rate-limit counter. */
const volatile = new Set(["date", "x-request-id", "ratelimit-remaining", "ratelimit-reset", "keep-alive", "connection"])
const stable = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(
    // a compressed body's length moves with the timestamp inside it
    Object.entries(headers).filter(([k]) => !volatile.has(k) && !(k === "content-length" && headers["content-encoding"] !== undefined))
  )
const withoutTimestamp = (body: unknown) => (typeof body === "object" && body !== null ? { ...body, timestamp: "-" } : body)

/**
 * A repeated query parameter the endpoint does not read: the lane declines such a request (it leaves
 * repeated parameters to the router), the router ignores the parameter. The same request, answered
 * by each side.
 */
const viaRouter = (url: string) => `${url}${url.includes("?") ? "&" : "?"}unused=1&unused=2`

/** GET from the app under test with fetch, which undoes gzip and brotli (the headers still name the encoding). */
const fetchAnswer = (url: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const address = (yield* HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return yield* Effect.promise(async (): Promise<Answer> => {
      const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers })
      const text = await res.text()
      return { status: res.status, headers: Object.fromEntries(res.headers), body: JSON.parse(text) }
    })
  })

const expectSameAnswer = (lane: Answer, router: Answer) => {
  expect(lane.status).toBe(router.status)
  expect(withoutTimestamp(lane.body)).toStrictEqual(withoutTimestamp(router.body))
  expect(stable(lane.headers)).toStrictEqual(stable(router.headers))
}

/** A stopped session of a fresh viewer (nothing in it moves with the clock); `watched`: paid for that long. */
const stoppedSession = (watched?: Duration.DurationInput) =>
  Effect.gen(function* () {
    const user = yield* fundedViewer()
    const started = yield* postJson("/api/session/start", { userAddress: user, contentId: CONTENT })
    const sessionId = String((started.body as { data: { sessionId: string } }).data.sessionId)
    if (watched !== undefined) yield* (yield* TimeTravel).advance(watched)
    const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: user })
    expect(stopped.status).toBe(200)
    return { user, sessionId }
  })

/**
 * A bare Node server in front of the lane alone: what the lane does not answer, it hands to `next`,
 * which answers 599, so each request shows which side answered it.
 */
const laneOnly = Effect.gen(function* () {
  const hot = yield* HotReads
  const server = yield* Effect.acquireRelease(
    Effect.async<ReturnType<typeof createServer>>((resume) => {
      const s = createServer((req, res) => {
        const next = () => {
          res.writeHead(599, { "content-type": "text/plain" })
          res.end("handed on")
        }
        if (!hot.serve(req, res, next)) next()
      })
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) =>
      Effect.sync(() => {
        s.close()
      })
  )
  const address: AddressInfo | string | null = server.address()
  const port = address !== null && typeof address === "object" ? address.port : 0
  return (path: string, options: { readonly method?: string; readonly headers?: IncomingHttpHeaders } = {}) =>
    Effect.async<{ readonly status: number; readonly body: string }>((resume) => {
      const req = request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers }, (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (body += chunk))
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
      })
      req.end()
    })
})

describe("hot read lane", () => {
  layer(IsolatedApp({ CORS_ORIGIN: "http://localhost:3000" }), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("GET /api/session/:id: the lane's answer is the router's, byte for byte but the clock", () =>
      Effect.gen(function* () {
        const cancelled = yield* stoppedSession()
        // paid: amounts (bigints) in the cost and in the payment
        const paid = yield* stoppedSession("5 minutes")
        for (const { sessionId, user } of [cancelled, paid]) {
          const url = `/api/session/${sessionId}?userAddress=${user}`
          for (const headers of [{}, { origin: "http://localhost:3000" }, { "x-request-id": "trace-1" }]) {
            const lane = yield* get(url, headers)
            expect(lane.status).toBe(200)
            expectSameAnswer(lane, yield* get(viaRouter(url), headers))
          }
        }
        const paidAnswer = yield* get(`/api/session/${paid.sessionId}?userAddress=${paid.user}`)
        expect(paidAnswer.body).toMatchObject({ data: { status: "COMPLETED", payment: { fromYield: expect.any(String), txHash: expect.any(String) } } })
        const url = `/api/session/${cancelled.sessionId}?userAddress=${cancelled.user}`
        // a given request id is echoed by the lane, as by the router
        expect((yield* get(url, { "x-request-id": "trace-1" })).headers["x-request-id"]).toBe("trace-1")
      })
    )

    it.effect("GET /api/content: the same, with and without paging, compressed or not", () =>
      Effect.gen(function* () {
        for (const url of ["/api/content", "/api/content?limit=2", "/api/content?category=Education"]) {
          for (const headers of [{ "accept-encoding": "identity" }, { "accept-encoding": "gzip" }, { "accept-encoding": "br" }]) {
            const lane = yield* fetchAnswer(url, headers)
            expect(lane.status).toBe(200)
            expectSameAnswer(lane, yield* fetchAnswer(viaRouter(url), headers))
          }
        }
        const first = yield* get("/api/content?limit=2")
        const cursor = String((first.body as { nextCursor: string }).nextCursor)
        expectSameAnswer(yield* get(`/api/content?limit=2&cursor=${cursor}`), yield* get(viaRouter(`/api/content?limit=2&cursor=${cursor}`)))
        // the full catalogue is over the compression threshold: the lane compressed it
        expect((yield* fetchAnswer("/api/content", { "accept-encoding": "gzip" })).headers["content-encoding"]).toBe("gzip")
        expect((yield* fetchAnswer("/api/content", { "accept-encoding": "br" })).headers["content-encoding"]).toBe("br")
        // recorded in the metrics under the route's template, as the router's requests are
        const metrics = yield* get("/metrics")
        expect(String(metrics.body)).toMatch(/http_requests_total\{[^}]*route="\/api\/content"[^}]*status="200"[^}]*\} \d+/)
      })
    )

    it.scoped("the lane answers only the success path and hands everything else to the router", () =>
      Effect.gen(function* () {
        const { sessionId, user } = yield* stoppedSession()
        const other = yield* fundedViewer()
        const call = yield* laneOnly
        const ok = yield* call(`/api/session/${sessionId}?userAddress=${user}`)
        expect(ok.status).toBe(200)
        expect(JSON.parse(ok.body)).toMatchObject({ success: true, data: { sessionId } })
        expect((yield* call("/api/content")).status).toBe(200)

        const handedOn = [
          `/api/session/session_0_00000000?userAddress=${user}`, // unknown session
          `/api/session/${sessionId}?userAddress=${other}`, // someone else's
          `/api/session/${sessionId}?userAddress=0x123`, // not an address
          `/api/session/${sessionId}`, // no address
          `/api/session/${sessionId}?userAddress=${user}&userAddress=${user}`, // repeated
          "/api/session/not-a-session-id?userAddress=" + user,
          `/api/session/${sessionId}/extra?userAddress=${user}`,
          "/api/content?limit=0",
          "/api/content?cursor=not-a-cursor",
          `/api/content/${CONTENT}`,
          "/api/status",
          "/health"
        ]
        for (const path of handedOn) expect([path, (yield* call(path)).status]).toStrictEqual([path, 599])
        // only plain GETs: other methods, and a GET with a body, go to the router
        expect((yield* call("/api/content", { method: "HEAD" })).status).toBe(599)
        expect((yield* call("/api/content", { method: "POST" })).status).toBe(599)
        expect((yield* call("/api/content", { headers: { "content-length": "2" } })).status).toBe(599)
      })
    )
  })

  layer(IsolatedApp({ RATE_LIMIT_MAX_REQUESTS: "50" }), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("a request the lane hands on is counted once by the rate limit", () =>
      Effect.gen(function* () {
        const remaining = (a: Answer) => Number(a.headers["ratelimit-remaining"])
        const served = yield* get("/api/content")
        const unknown = yield* get(`/api/session/session_0_00000000?userAddress=${yield* fundedViewer()}`)
        expect(served.status).toBe(200)
        expect(unknown.status).toBe(404)
        expect(remaining(served) - remaining(unknown)).toBe(1)
        const again = yield* get("/api/content")
        expect(remaining(unknown) - remaining(again)).toBe(1)
      })
    )
  })

  layer(IsolatedApp({ JWT_SECRET: TEST_JWT_SECRET, AUTH_REQUIRED: "true" }), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("with sign-in required, the lane serves the token's owner and hands anyone else to the router (401/403)", () =>
      Effect.gen(function* () {
        const token = yield* signIn(alice)
        const started = yield* postJson("/api/session/start", { userAddress: alice.address, contentId: CONTENT }, bearer(token))
        expect(started.status).toBe(201)
        const sessionId = String((started.body as { data: { sessionId: string } }).data.sessionId)
        const url = `/api/session/${sessionId}?userAddress=${alice.address}`
        const lane = yield* get(url, bearer(token))
        expect(lane.status).toBe(200)
        expect((yield* get(url)).status).toBe(401)
        expect((yield* get(url, bearer("not-a-token"))).status).toBe(401)
        const bobs = yield* signIn(bob)
        expect((yield* get(url, bearer(bobs))).status).toBe(403)
        expect((yield* get(`/api/session/${sessionId}?userAddress=${bob.address}`, bearer(bobs))).status).toBe(403)
      })
    )
  })
})

describe("hot read lane, REQUEST_TIMEOUT", () => {
  /** A hot route whose read never finishes in time. */
  const slow: HotRead = {
    route: "/slow",
    match: (path) => (path === "/slow" ? [] : undefined),
    handle: () => Effect.as(Effect.sleep("10 seconds"), Option.some("{}"))
  }
  const logs = captureLogs()
  const SlowLane = Layer.effect(HotReads, makeHotReads([slow])).pipe(
    Layer.provide(HttpPipelineLive),
    Layer.provide(configFrom({ REQUEST_TIMEOUT: "300 millis", CORS_ORIGIN: "http://localhost:3000" })),
    Layer.provide(logs.layer)
  )
  layer(SlowLane, { timeout: 30_000, excludeTestServices: true })((it) => {
    it.scoped("a read slower than REQUEST_TIMEOUT is answered 503 in the seed format, and logged as 503", () =>
      Effect.gen(function* () {
        const call = yield* laneOnly
        const started = Date.now()
        const answer = yield* call("/slow", { headers: { "x-request-id": "slow-hot-1" } })
        expect(Date.now() - started).toBeLessThan(3_000)
        expect(answer.status).toBe(503)
        expect(JSON.parse(answer.body)).toEqual({
          error: "Service Unavailable",
          message: "the request did not complete within 300ms",
          statusCode: 503,
          timestamp: expect.any(String)
        })
        yield* Effect.sleep("50 millis")
        const line = logs.lines.find((l) => l.includes("slow-hot-1") && l.includes('"http request"'))
        expect(line).toMatch(/"status":503/)
      })
    )
  })
})
