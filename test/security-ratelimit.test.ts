import { HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { type Answer, IsolatedApp, captureLogs, get, messageOf, postJson, withLogs } from "./support/security.js"

/**
 * Two instances of the server, each with its own database and limiter, sharing one Redis store:
 * the limit holds across them. A unique key prefix per run keeps runs apart.
 */

const prefix = `payg:test:${randomUUID()}:`
const vars = {
  RATE_LIMIT_MAX_REQUESTS: "5",
  RATE_LIMIT_WINDOW_MS: "60000",
  REDIS_URL: "redis://127.0.0.1:6379",
  RATE_LIMIT_PREFIX: prefix
}

/** The second instance's client, under a tag of its own (the first is the default HttpClient). */
class Second extends Context.Tag("test/SecondInstance")<Second, HttpClient.HttpClient>() {}

const SecondLive = Layer.effect(Second, HttpClient.HttpClient).pipe(Layer.provide(IsolatedApp(vars)))

const onSecond = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Second, (client) => Effect.provideService(effect, HttpClient.HttpClient, client))

const remaining = (a: Answer) => a.headers["ratelimit-remaining"]

describe("rate limiting shared by two instances through Redis", () => {
  const logs = captureLogs()
  layer(withLogs(SecondLive.pipe(Layer.provideMerge(IsolatedApp(vars))), logs), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("the limit counts requests to either instance; over it, both answer 429 with Retry-After", () =>
      Effect.gen(function* () {
        const sequence = [
          yield* get("/api/content"),
          yield* onSecond(get("/api/content")),
          yield* get("/api/content"),
          yield* onSecond(get("/api/content")),
          yield* get("/api/content")
        ]
        expect(sequence.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
        expect(sequence.map(remaining)).toEqual(["4", "3", "2", "1", "0"])
        expect(sequence.every((a) => a.headers["ratelimit-limit"] === "5")).toBe(true)
        expect(Number(sequence[0]?.headers["ratelimit-reset"])).toBeGreaterThan(0)

        for (const limited of [yield* onSecond(get("/api/content")), yield* get("/api/status")]) {
          expect(limited.status).toBe(429)
          expect(limited.body).toEqual({
            error: "Too Many Requests",
            message: expect.stringMatching(/too many requests/),
            statusCode: 429,
            timestamp: expect.any(String)
          })
          expect(messageOf(limited)).toMatch(/at most 5 every 1m/)
          const retryAfter = Number(limited.headers["retry-after"])
          expect(retryAfter).toBeGreaterThan(0)
          expect(retryAfter).toBeLessThanOrEqual(60)
          expect(limited.headers["ratelimit-remaining"]).toBe("0")
          expect(limited.headers["x-request-id"]).toBeDefined()
          expect(limited.headers["x-content-type-options"]).toBe("nosniff")
        }

        // a limited request with an Idempotency-Key stores nothing: its retry after the window does the work
        const key = `limited-${randomUUID()}`
        const keyed = yield* postJson("/api/session/start", { userAddress: "0x742C4B0F8e6cD2E0b35e8eF6dbC66f5c6D4B9E8a", contentId: "intro-to-defi" }, { "idempotency-key": key })
        expect(keyed.status).toBe(429)
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT 1 FROM idempotency_keys WHERE key = ${key}`).toHaveLength(0)

        // /health is exempt on both
        expect((yield* get("/health")).status).toBe(200)
        expect((yield* onSecond(get("/health"))).status).toBe(200)

        // the counter lives in Redis, under this run's prefix
        const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true })
        const keys = yield* Effect.promise(async () => {
          await redis.connect()
          try {
            return await redis.keys(`${prefix}*`)
          } finally {
            await redis.quit()
          }
        })
        expect(keys).toContain(`${prefix}ip:127.0.0.1`)
      }))
  })
})
