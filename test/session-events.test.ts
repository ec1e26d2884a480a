import { HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Queue, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { TestApp } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { scratchDatabase } from "./support/database.js"
import { getJson, postJson } from "./support/http.js"
import { fundedViewer } from "./support/users.js"

/**
 * GET /api/session/:sessionId/events read by a real HTTP client as the server writes it: a status
 * event first, a cost event every second while active, the pause, the stop and its payment, then the
 * end of the stream.
 */

interface SseEvent {
  readonly event: string
  readonly data: Record<string, unknown>
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** One event block of the stream (`event:` and `data:` lines); None for a comment (the heartbeat). */
const parseEvent = (block: string): Option.Option<SseEvent> => {
  const lines = block.split("\n")
  const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length)
  const data = lines.find((l) => l.startsWith("data: "))?.slice("data: ".length)
  if (event === undefined || data === undefined) return Option.none()
  const parsed: unknown = JSON.parse(data)
  return isRecord(parsed) ? Option.some({ event, data: parsed }) : Option.none()
}

/** Opens the stream and feeds its events to a queue; None in the queue is the end of the stream. */
const follow = (path: string) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const response = yield* http.get(path)
    const queue = yield* Queue.unbounded<Option.Option<SseEvent>>()
    const fiber = yield* response.stream.pipe(
      Stream.decodeText(),
      Stream.mapAccum("", (buffer, text) => {
        const blocks = (buffer + text).split("\n\n")
        const rest = blocks.pop() ?? ""
        return [rest, blocks]
      }),
      Stream.flattenIterables,
      Stream.runForEach((block) => Option.match(parseEvent(block), { onNone: () => Effect.void, onSome: (e) => Effect.asVoid(Queue.offer(queue, Option.some(e))) })),
      Effect.zipRight(Queue.offer(queue, Option.none())),
      Effect.forkScoped
    )
    return { response, fiber, next: Queue.take(queue).pipe(Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error("no event within 30 s") })) }
  })

/** Takes events until one matches; the ones before it are returned with it. */
const until = (next: Effect.Effect<Option.Option<SseEvent>, Error>, matches: (e: SseEvent) => boolean) =>
  Effect.gen(function* () {
    const seen: Array<SseEvent> = []
    for (;;) {
      const e = yield* next
      if (Option.isNone(e)) return yield* Effect.fail(new Error(`the stream ended before the event; saw ${JSON.stringify(seen)}`))
      seen.push(e.value)
      if (matches(e.value)) return seen
    }
  })

describe("GET /api/session/:sessionId/events", () => {
  it.layer(TestApp(), { timeout: 120_000 })((it) => {
    it.scoped("status first, a cost every second while active, the pause, the stop with its payment, then the end", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
        expect(started.status).toBe(201)
        const sessionId = String(isRecord(started.body) && isRecord(started.body["data"]) ? started.body["data"]["sessionId"] : "")
        const ref = { sessionId, userAddress: user }

        const stream = yield* follow(`/api/session/${sessionId}/events?userAddress=${user}`)
        expect(stream.response.status).toBe(200)
        expect(stream.response.headers["content-type"]).toMatch(/^text\/event-stream/)

        const first = yield* stream.next
        expect(Option.getOrThrow(first)).toMatchObject({ event: "status", data: { sessionId, status: "ACTIVE", payment: null } })
        // a minute of watching, in the app's time, then real seconds of cost events
        const time = yield* TimeTravel
        yield* time.advance("60 seconds")
        const costs = yield* until(stream.next, (e) => e.event === "cost" && Number(e.data["billedSeconds"]) >= 60)
        const cost = costs[costs.length - 1]
        expect(cost?.data).toMatchObject({ sessionId, currentCost: expect.stringMatching(/^[0-9]+$/), currentCostUsdc: expect.stringMatching(/^[0-9]+(\.[0-9]+)? USDC$/) })
        // 10 USDC for 3600 s: at least 60 s billed is at least 166666 units
        expect(BigInt(String(cost?.data["currentCost"]))).toBeGreaterThanOrEqual(166_666n)
        yield* until(stream.next, (e) => e.event === "cost")

        expect((yield* postJson("/api/session/pause", ref)).status).toBe(200)
        yield* until(stream.next, (e) => e.event === "status" && e.data["status"] === "PAUSED")

        const stop = yield* postJson("/api/session/stop", ref)
        expect(stop.status).toBe(200)
        const terminal = yield* until(stream.next, (e) => e.event === "status" && e.data["status"] === "COMPLETED")
        const done = terminal[terminal.length - 1]
        expect(done?.data["payment"]).toMatchObject({ txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), blockNumber: expect.any(Number), batchSize: 1 })
        expect(terminal.filter((e) => e.event === "cost")).toEqual([])
        expect(yield* stream.next).toEqual(Option.none())
        yield* Fiber.join(stream.fiber)
      }))

    it.effect("the OpenAPI document declares the stream (text/event-stream, with an example) and the stop's Prefer header and 202 txHash", () =>
      Effect.gen(function* () {
        const doc = yield* getJson("/openapi.json")
        const text = JSON.stringify(doc.body)
        const paths = isRecord(doc.body) && isRecord(doc.body["paths"]) ? doc.body["paths"] : {}
        const events = JSON.stringify(paths["/api/session/{sessionId}/events"])
        expect(events).toContain('"text/event-stream"')
        expect(events).toContain("event: status")
        const stop = JSON.stringify(paths["/api/session/stop"])
        expect(stop).toContain('"name":"Prefer","in":"header"')
        expect(stop).toContain("Preference-Applied")
        expect(text).toContain("The transaction carrying the payment, once it is sent")
      }))

    it.effect("another address's session is 403, an unknown one 404, as for GET /api/session/:sessionId", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const other = yield* fundedViewer()
        const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
        const sessionId = String(isRecord(started.body) && isRecord(started.body["data"]) ? started.body["data"]["sessionId"] : "")
        expect((yield* getJson(`/api/session/${sessionId}/events?userAddress=${other}`)).status).toBe(403)
        expect((yield* getJson(`/api/session/session_lx7g2h_a1b2c3d4/events?userAddress=${user}`)).status).toBe(404)
      }))
  })
})

/**
 * On PostgreSQL the stream wakes on the database's notification of a change (migration 0011,
 * src/db/SessionChanges.ts), not on its poll: with the poll set to ten minutes, the pause and the stop
 * still reach the stream (each wait for an event is bounded at 30 s).
 */
describe("GET /api/session/:sessionId/events on PostgreSQL", () => {
  // fresh: not the first describe's chain (it.layer shares what two layers of one file have in common)
  const app = Layer.unwrapScoped(
    Effect.map(scratchDatabase(`payg_events_${randomBytes(4).toString("hex")}`), (url) => TestApp({ DATABASE_URL: url, SESSION_EVENTS_POLL: "10 minutes" }))
  )
  it.layer(Layer.fresh(app), { timeout: 120_000 })((it) => {
    it.scoped("a status change reaches the stream when it is committed, without waiting for the poll", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
        const sessionId = String(isRecord(started.body) && isRecord(started.body["data"]) ? started.body["data"]["sessionId"] : "")
        expect(started.status, JSON.stringify(started.body)).toBe(201)
        const ref = { sessionId, userAddress: user }
        const stream = yield* follow(`/api/session/${sessionId}/events?userAddress=${user}`)
        expect(stream.response.status).toBe(200)
        expect(Option.getOrThrow(yield* stream.next)).toMatchObject({ event: "status", data: { status: "ACTIVE" } })

        expect((yield* postJson("/api/session/pause", ref)).status).toBe(200)
        yield* until(stream.next, (e) => e.event === "status" && e.data["status"] === "PAUSED")
        expect((yield* postJson("/api/session/resume", ref)).status).toBe(200)
        yield* until(stream.next, (e) => e.event === "status" && e.data["status"] === "ACTIVE")
        // the running cost comes from the clock, the row read at the change
        yield* until(stream.next, (e) => e.event === "cost")

        expect((yield* postJson("/api/session/stop", ref)).status).toBe(200)
        const terminal = yield* until(stream.next, (e) => e.event === "status" && e.data["status"] === "COMPLETED")
        expect(terminal[terminal.length - 1]?.data["payment"]).toMatchObject({ txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
        expect(yield* stream.next).toEqual(Option.none())
      }))

    it.scoped("the listening connection dropped: the listener connects again and the change made meanwhile still reaches the stream", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
        expect(started.status, JSON.stringify(started.body)).toBe(201)
        const sessionId = String(isRecord(started.body) && isRecord(started.body["data"]) ? started.body["data"]["sessionId"] : "")
        const stream = yield* follow(`/api/session/${sessionId}/events?userAddress=${user}`)
        expect(Option.getOrThrow(yield* stream.next)).toMatchObject({ event: "status", data: { status: "ACTIVE" } })

        const sql = yield* SqlClient.SqlClient
        const ended = yield* sql<{ readonly ended: boolean }>`
          SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN payg_session_changed'`
        expect(ended.map((r) => r.ended)).toEqual([true])
        // changed, most likely, before the listener is back: no notification is delivered for it, the reconnect reads it
        expect((yield* postJson("/api/session/pause", { sessionId, userAddress: user })).status).toBe(200)
        yield* until(stream.next, (e) => e.event === "status" && e.data["status"] === "PAUSED")
      }))
  })
})
