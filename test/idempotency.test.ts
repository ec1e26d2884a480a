import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestApp } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { fundedViewer, settlementsOnChain } from "./support/users.js"

const post = (path: string, body: unknown, key?: string) =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http
      .execute(
        HttpClientRequest.post(path).pipe(
          HttpClientRequest.bodyUnsafeJson(body),
          key === undefined ? (r) => r : HttpClientRequest.setHeader("Idempotency-Key", key)
        )
      )
      .pipe(
        Effect.flatMap((res) =>
          Effect.map(res.text, (text) => ({ status: res.status, text, body: JSON.parse(text) as unknown, replayed: res.headers["idempotent-replayed"] }))
        )
      )
  )

const sessionsOf = (user: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly id: string }>`SELECT id FROM sessions WHERE user_address = ${user}`)

let n = 0
const freshKey = () => `test-key-${process.pid}-${Date.now()}-${n++}`

describe("idempotency keys", () => {
  it.layer(TestApp({ SETTLEMENT_BATCH_WINDOW: "5 millis" }), { timeout: 180_000 })((it) => {
    it.effect("a retried start returns the first response and does the work once", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const key = freshKey()
        const body = { userAddress: user, contentId: "intro-to-defi" }
        const first = yield* post("/api/session/start", body, key)
        const retry = yield* post("/api/session/start", body, key)
        expect(first.status).toBe(201)
        expect(retry.status).toBe(201)
        expect(retry.text).toBe(first.text)
        expect(retry.replayed).toBe("true")
        expect(first.replayed).toBeUndefined()
        expect(yield* sessionsOf(user)).toHaveLength(1)
        // without the key, the same request is a new attempt (and conflicts)
        expect((yield* post("/api/session/start", body)).status).toBe(409)
      }))

    it.effect("the same key with a different request is 422 and changes nothing", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const key = freshKey()
        expect((yield* post("/api/session/start", { userAddress: user, contentId: "intro-to-defi" }, key)).status).toBe(201)
        const other = yield* post("/api/session/start", { userAddress: user, contentId: "nft-art-stories" }, key)
        expect(other.status).toBe(422)
        expect(other.body).toMatchObject({ error: "Unprocessable Entity", statusCode: 422, message: expect.stringContaining("different request") })
        expect(yield* sessionsOf(user)).toHaveLength(1)
      }))

    it.effect("concurrent requests with one key: one does the work, all get its answer", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const key = freshKey()
        const results = yield* Effect.all(
          Array.from({ length: 10 }, () => post("/api/session/start", { userAddress: user, contentId: "yield-farming-101" }, key)),
          { concurrency: "unbounded" }
        )
        expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]))
        expect(new Set(results.map((r) => r.text)).size).toBe(1)
        expect(yield* sessionsOf(user)).toHaveLength(1)
      }))

    it.effect("a retried stop replays the payment instead of a 409, and pays once", () =>
      Effect.gen(function* () {
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const start = yield* post("/api/session/start", { userAddress: user, contentId: "stablecoin-economics" })
        const { sessionId, settlementKey } = (start.body as { data: { sessionId: string; settlementKey: string } }).data
        yield* time.advance("45 minutes")
        const key = freshKey()
        const first = yield* post("/api/session/stop", { sessionId, userAddress: user }, key)
        const retry = yield* post("/api/session/stop", { sessionId, userAddress: user }, key)
        expect(first.status).toBe(200)
        expect(retry.status).toBe(200)
        expect(retry.text).toBe(first.text)
        expect(first.body).toMatchObject({ data: { status: "completed", finalCost: "8000000" } })
        expect(yield* settlementsOnChain(BigInt(settlementKey))).toHaveLength(1)
      }))

    it.effect("keys are kept in PostgreSQL for 24 hours, then the key may be used again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const key = freshKey()
        yield* post("/api/session/start", { userAddress: user, contentId: "inside-the-evm" }, key)
        const stored = yield* sql<{ readonly statusCode: number }>`SELECT status_code AS "statusCode" FROM idempotency_keys WHERE key = ${key}`
        expect(stored).toEqual([{ statusCode: 201 }])
        yield* time.advance("23 hours")
        expect((yield* post("/api/session/start", { userAddress: user, contentId: "nft-art-stories" }, key)).status).toBe(422)
        yield* time.advance("2 hours")
        expect((yield* post("/api/session/start", { userAddress: user, contentId: "nft-art-stories" }, key)).status).toBe(201)
      }))

    it.effect("a malformed key is a 400 in the seed's format", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const r = yield* post("/api/session/start", { userAddress: user, contentId: "intro-to-defi" }, "x".repeat(300))
        expect(r.status).toBe(400)
        expect(r.body).toMatchObject({ error: "Bad Request", statusCode: 400 })
        expect(yield* sessionsOf(user)).toHaveLength(0)
      }))
  })
})
