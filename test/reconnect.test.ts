import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { makeAppLive } from "../src/AppLive.js"
import { ChainOnDevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { PgPool } from "../src/db/Database.js"
import { HttpAppLive } from "../src/http/Server.js"
import { TestApp, TestServer, configFrom } from "./support/app.js"
import { serverPort } from "./support/fuzz.js"
import { fundedViewer } from "./support/users.js"

/**
 * The database connection is replaced under a running server (docs/RELIABILITY.md): the pool closes an
 * idle connection, or a connection dies, and the next request opens a new one. Behind PGlite the new
 * connection lands in the same single session as the old one, named prepared statements included.
 * Every route must answer after that as it did before, on PGlite and on PostgreSQL.
 */

const SEED_VIEWER = "0x742C4B0F8e6cD2E0b35e8eF6dbC66f5c6D4B9E8a"

/** The app exactly as `npm start` composes it on the embedded defaults: no DATABASE_URL, whatever the test run's. */
const EmbeddedDefaults = Layer.fresh(
  HttpAppLive.pipe(
    Layer.provideMerge(TestServer),
    Layer.provideMerge(makeAppLive(ChainOnDevChain).pipe(Layer.provideMerge(DevChainDeployment({ demo: true })))),
    Layer.provideMerge(configFrom({ NODE_ENV: "development", LOG_LEVEL: "warn", RATE_LIMIT_MAX_REQUESTS: "0" }))
  )
)

const call = (base: string, method: "GET" | "POST", path: string, body?: unknown) =>
  Effect.promise(async () => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    const json = (await res.json()) as Record<string, unknown>
    return { status: res.status, body: json }
  })

/**
 * Every route once, as a viewer's whole session: the status each answered, by route. A session is
 * started, paused, resumed and stopped, so every statement the server prepares is used.
 */
const everyRoute = (base: string, user: string) =>
  Effect.gen(function* () {
    const seen: Array<readonly [string, number]> = []
    const record = (label: string, r: { readonly status: number }) => seen.push([label, r.status])
    record("GET /health", yield* call(base, "GET", "/health"))
    record("GET /api/status", yield* call(base, "GET", "/api/status"))
    record("GET /api/content", yield* call(base, "GET", "/api/content"))
    record("GET /api/content/:id", yield* call(base, "GET", "/api/content/intro-to-defi"))
    record("GET /api/auth/nonce", yield* call(base, "GET", "/api/auth/nonce"))
    record("GET /api/user/:a/balance", yield* call(base, "GET", `/api/user/${user}/balance`))
    record("GET /api/user/:a/stats", yield* call(base, "GET", `/api/user/${user}/stats`))
    const start = yield* call(base, "POST", "/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
    record("POST /api/session/start", start)
    const data = start.body["data"]
    const sessionId = typeof data === "object" && data !== null && "sessionId" in data ? String(data.sessionId) : "none"
    const ref = { sessionId, userAddress: user }
    record("GET /api/session/:id", yield* call(base, "GET", `/api/session/${sessionId}?userAddress=${user}`))
    record("GET /api/session/user/:a/active", yield* call(base, "GET", `/api/session/user/${user}/active`))
    record("POST /api/session/pause", yield* call(base, "POST", "/api/session/pause", ref))
    record("POST /api/session/resume", yield* call(base, "POST", "/api/session/resume", ref))
    record("POST /api/session/stop", yield* call(base, "POST", "/api/session/stop", ref))
    record("GET /api/session/user/:a/history", yield* call(base, "GET", `/api/session/user/${user}/history`))
    return seen
  })

const allAnswered = [
  ["GET /health", 200],
  ["GET /api/status", 200],
  ["GET /api/content", 200],
  ["GET /api/content/:id", 200],
  ["GET /api/auth/nonce", 200],
  ["GET /api/user/:a/balance", 200],
  ["GET /api/user/:a/stats", 200],
  ["POST /api/session/start", 201],
  ["GET /api/session/:id", 200],
  ["GET /api/session/user/:a/active", 200],
  ["POST /api/session/pause", 200],
  ["POST /api/session/resume", 200],
  // stopped at once: zero seconds watched, cancelled with no charge
  ["POST /api/session/stop", 200],
  ["GET /api/session/user/:a/history", 200]
]

describe("the database connection is replaced under a running server", () => {
  // an idle timeout this short ends the connection between almost any two requests: every route is
  // called over a new connection while the previous one may still be closing
  it.layer(TestApp({ DATABASE_IDLE_TIMEOUT: "5 millis" }), { timeout: 120_000 })((it) => {
    it.effect("every route answers after the pool closed its idle connection, again and again", () =>
      Effect.gen(function* () {
        const base = `http://127.0.0.1:${yield* serverPort}`
        for (let round = 0; round < 6; round++) {
          const user = yield* fundedViewer()
          expect(yield* everyRoute(base, user)).toEqual(allAnswered)
          // past the idle timeout: the pool ends its connection; the next request opens another
          yield* Effect.sleep(Duration.millis(50))
        }
      }))

    it.effect("every route answers after the connection died under the pool (not an idle close)", () =>
      Effect.gen(function* () {
        const pool = yield* PgPool
        const base = `http://127.0.0.1:${yield* serverPort}`
        for (let round = 0; round < 3; round++) {
          const user = yield* fundedViewer()
          expect(yield* everyRoute(base, user)).toEqual(allAnswered)
          // the pool's connection is destroyed, as a network error or a server restart would end it
          yield* Effect.promise(async () => {
            const client = await pool.connect()
            client.release(new Error("connection dropped by the test"))
          })
        }
      }))
  })

  // the issue as reported: the embedded defaults (`npm start` with no DATABASE_URL: PGlite, the pool's
  // default idle timeout of 10 s), idle past that timeout, then every route. In process, so the wait
  // costs no CPU; .ci/run does the same against a real `npm start`.
  it.layer(EmbeddedDefaults, { timeout: 120_000 })((it) => {
    it.effect(
      "the server on its embedded defaults answers every route after sitting idle past the default idle timeout",
      () =>
        Effect.gen(function* () {
          const base = `http://127.0.0.1:${yield* serverPort}`
          expect(yield* everyRoute(base, SEED_VIEWER)).toEqual(allAnswered)
          yield* Effect.sleep(Duration.seconds(11.5))
          expect(yield* everyRoute(base, SEED_VIEWER)).toEqual(allAnswered)
        }),
      60_000
    )
  })
})
