import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { claimKey, keyScope, leaseFor, requestHash } from "../src/http/idempotency.js"
import { TestApp } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { IsolatedApp, TEST_JWT_SECRET, alice, bob, signIn } from "./support/security.js"
import { fundedViewer, settlementsOnChain } from "./support/users.js"

const post = (path: string, body: unknown, key?: string, token?: string) =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http
      .execute(
        HttpClientRequest.post(path).pipe(
          HttpClientRequest.bodyUnsafeJson(body),
          key === undefined ? (r) => r : HttpClientRequest.setHeader("Idempotency-Key", key),
          token === undefined ? (r) => r : HttpClientRequest.bearerToken(token)
        )
      )
      .pipe(
        Effect.flatMap((res) =>
          Effect.map(res.text, (text) => ({
            status: res.status,
            text,
            body: JSON.parse(text) as unknown,
            replayed: res.headers["idempotent-replayed"],
            retryAfter: res.headers["retry-after"]
          }))
        )
      )
  )

const keyRows = (key: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly scope: string; readonly statusCode: number | null }>`
      SELECT scope, status_code AS "statusCode" FROM idempotency_keys WHERE key = ${key} ORDER BY scope`
  )

const sessionIdOf = (answer: { readonly body: unknown }): string => (answer.body as { data: { sessionId: string } }).data.sessionId

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

  // REQUEST_TIMEOUT 4 s: a claim's lease is 14 s, and a retry waits at most 2 s for a running claim
  const { lease } = leaseFor(Duration.seconds(4))
  it.layer(IsolatedApp({ AUTH_REQUIRED: "true", JWT_SECRET: TEST_JWT_SECRET, REQUEST_TIMEOUT: "4 seconds" }), { timeout: 180_000 })((it) => {
    it.effect("a claim whose holder died lapses after its lease: the retry does the work instead of 409", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const time = yield* TimeTravel
        const token = yield* signIn(alice)
        const user = alice.address.toLowerCase()
        const key = freshKey()
        const body = { userAddress: user, contentId: "intro-to-defi" }
        // the claim exactly as a holder writes it before doing the work, left behind by a killed process
        const scope = keyScope(user, "POST", "/api/session/start")
        const now = Date.now() + time.offsetMs()
        expect(yield* claimKey(sql, { scope, key, hash: requestHash(scope, JSON.stringify(body)), now, lease })).toBe(true)

        // within the lease the holder may still be alive: the retry waits, then 409 saying when to retry
        const early = yield* post("/api/session/start", body, key, token)
        expect(early.status).toBe(409)
        expect(Number(early.retryAfter)).toBeGreaterThan(0)
        expect(Number(early.retryAfter)).toBeLessThanOrEqual(Duration.toSeconds(lease))
        expect(yield* sessionsOf(user)).toHaveLength(0)

        // past the lease: the retry takes the key over and gets the real answer
        yield* time.advance(Duration.sum(lease, Duration.seconds(1)))
        const late = yield* post("/api/session/start", body, key, token)
        expect(late.status).toBe(201)
        expect(late.replayed).toBeUndefined()
        expect(yield* sessionsOf(user)).toHaveLength(1)
        // and that answer is the key's from now on
        expect(yield* post("/api/session/start", body, key, token)).toMatchObject({ status: 201, text: late.text, replayed: "true" })
        expect(yield* keyRows(key)).toEqual([{ scope, statusCode: 201 }])
        expect((yield* post("/api/session/stop", { sessionId: sessionIdOf(late), userAddress: user }, undefined, token)).status).toBe(200)
      }))

    it.effect("a request without a token, with another caller's or with a forged one never gets the caller's answer", () =>
      Effect.gen(function* () {
        const token = yield* signIn(alice)
        const other = yield* signIn(bob)
        const user = alice.address.toLowerCase()
        const key = freshKey()
        const body = { userAddress: user, contentId: "yield-farming-101" }
        const first = yield* post("/api/session/start", body, key, token)
        expect(first.status).toBe(201)

        for (const [who, status] of [[undefined, 401], [other, 403], [`${token.slice(0, -4)}AAAA`, 401]] as const) {
          const answer = yield* post("/api/session/start", body, key, who)
          expect(answer.status).toBe(status)
          expect(answer.replayed).toBeUndefined()
          expect(answer.text).not.toContain(sessionIdOf(first))
        }
        // the caller's own retry is still the replay
        expect(yield* post("/api/session/start", body, key, token)).toMatchObject({ status: 201, text: first.text, replayed: "true" })
        expect((yield* post("/api/session/stop", { sessionId: sessionIdOf(first), userAddress: user }, undefined, token)).status).toBe(200)
      }))

    it.effect("401 and 403 are never stored: the rightful caller's request with that key does the work", () =>
      Effect.gen(function* () {
        const token = yield* signIn(alice)
        const other = yield* signIn(bob)
        const user = alice.address.toLowerCase()
        const key = freshKey()
        const body = { userAddress: user, contentId: "inside-the-evm" }
        expect((yield* post("/api/session/start", body, key)).status).toBe(401)
        expect((yield* post("/api/session/start", body, key, other)).status).toBe(403)
        expect(yield* keyRows(key)).toEqual([])

        const owner = yield* post("/api/session/start", body, key, token)
        expect(owner.status).toBe(201)
        expect(owner.replayed).toBeUndefined()
        expect(yield* keyRows(key)).toEqual([{ scope: keyScope(user, "POST", "/api/session/start"), statusCode: 201 }])
        expect((yield* post("/api/session/stop", { sessionId: sessionIdOf(owner), userAddress: user }, undefined, token)).status).toBe(200)
      }))
  })
})
