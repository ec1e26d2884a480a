import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc } from "effect"
import { costOf } from "../src/domain/Pricing.js"
import * as Session from "../src/domain/Session.js"
import { ContentId } from "../src/domain/Content.js"
import { sweepIdle } from "../src/session/Background.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { postJson } from "./support/http.js"
import { fundedViewer, randomAddress } from "./support/users.js"

const step = fc.record({
  kind: fc.constantFrom("heartbeat", "heartbeat", "pause", "resume", "stop"),
  dt: fc.integer({ min: 0, max: 120_000 })
})

const price = { fullPrice: 10_000_000n, totalDuration: 3600 }

describe("heartbeat billing (domain)", () => {
  it.prop(
    "billed time never exceeds the last heartbeat + grace, whatever the sequence of pause, resume, heartbeat and stop times",
    { steps: fc.array(step, { minLength: 1, maxLength: 30 }), grace: fc.integer({ min: 0, max: 60_000 }), t0: fc.integer({ min: 0, max: 2 ** 41 }) },
    ({ grace, steps, t0 }) => {
      let clock = Session.start(t0)
      let now = t0
      // a reference model: the billed milliseconds, counted interval by interval
      let billed = 0
      let deadline: number | null = null
      let billedAtLastHeartbeat: number | null = null
      let stopped: Session.Stopped | undefined
      for (const { dt, kind } of steps) {
        if (stopped !== undefined) break
        const next = now + dt
        if (clock.status === "ACTIVE") billed += Math.max(0, Math.min(next, deadline ?? next) - now)
        now = next
        switch (kind) {
          case "heartbeat": {
            const r = Session.heartbeat(clock, now, grace)
            expect(Either.isRight(r)).toBe(true)
            if (Either.isRight(r)) clock = r.right
            deadline = now + grace
            billedAtLastHeartbeat = billed
            break
          }
          case "pause":
          case "resume": {
            const r = kind === "pause" ? Session.pause(clock, now) : Session.resume(clock, now)
            expect(Either.isRight(r)).toBe(clock.status === (kind === "pause" ? "ACTIVE" : "PAUSED"))
            if (Either.isRight(r)) clock = r.right
            break
          }
          case "stop": {
            const r = Session.stop(clock, now, price)
            expect(Either.isRight(r)).toBe(true)
            if (Either.isRight(r)) stopped = r.right
            break
          }
        }
        const d = Session.durations(clock, now)
        expect(d.activeMs).toBe(billed)
        expect(d.activeMs + d.pausedMs).toBe(d.totalMs)
      }
      // the sweeper stops what is left open, at some time later
      const final = stopped ?? Either.getOrThrow(Session.stop(clock, now + 3_600_000, price))
      if (stopped === undefined && clock.status === "ACTIVE") billed += Math.max(0, Math.min(now + 3_600_000, deadline ?? now + 3_600_000) - now)
      expect(final.clock.activeMs).toBe(billed)
      if (billedAtLastHeartbeat !== null && deadline !== null) {
        // after its last heartbeat a session is billed for at most the grace
        expect(final.clock.activeMs - billedAtLastHeartbeat).toBeLessThanOrEqual(grace)
        expect(final.clock.endedAt).not.toBeNull()
        expect(final.clock.endedAt ?? Infinity).toBeLessThanOrEqual(Math.max(deadline, clock.segmentStartedAt))
        // and the time of the stop does not matter once the billable time has lapsed
        if (stopped === undefined) {
          const later = Either.getOrThrow(Session.stop(clock, now + 86_400_000, price))
          expect(later.billedSeconds).toBe(final.billedSeconds)
          expect(later.cost).toBe(final.cost)
        }
      }
      expect(final.cost).toBe(costOf(price.fullPrice, final.billedSeconds, price.totalDuration))
    }
  )
})

const cid = ContentId.make

describe("heartbeats (HTTP, sweeper)", () => {
  // only the sweeps the tests run themselves; sessions without heartbeats are never idle here
  it.layer(TestApp({ HEARTBEAT_GRACE: "30 seconds", SESSION_MAX_IDLE: "1000 hours", RECONCILE_INTERVAL: "24 hours" }), { timeout: 180_000 })((it) => {
    it.effect("a session whose heartbeats stopped is settled by the sweeper, billed up to its last heartbeat + grace", () =>
      Effect.flatMap(TimeTravel, (time) =>
        time.frozen(
          Effect.gen(function* () {
            const client = yield* apiClient
            const user = yield* fundedViewer()
            const quiet = yield* fundedViewer()
            const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
            const without = yield* client.session.start({ payload: { userAddress: quiet, contentId: cid("intro-to-defi") } })
            const sessionId = s.data.sessionId

            yield* time.advance("2 minutes")
            const beat = yield* client.session.heartbeat({ payload: { sessionId, userAddress: user } })
            expect(beat.data).toMatchObject({ sessionId, status: "active", activeDuration: 120, currentCost: 333_333n })
            expect(Date.parse(beat.data.billableUntil) - Date.parse(beat.data.lastHeartbeatAt)).toBe(30_000)

            // the tab is closed: ten minutes pass, the reads already show the capped cost
            yield* time.advance("10 minutes")
            const before = yield* client.session.get({ path: { sessionId }, urlParams: { userAddress: user } })
            expect(before.data).toMatchObject({ status: "ACTIVE", activeDuration: 150, currentCost: 416_666n })

            expect(yield* sweepIdle).toBeGreaterThanOrEqual(1)
            const after = yield* client.session.get({ path: { sessionId }, urlParams: { userAddress: user } })
            // 150 s of a 3600 s item priced 10 USDC, ended at the lapse, not at the sweep
            expect(after.data).toMatchObject({ status: "COMPLETED", activeDuration: 150, finalCost: 416_666n, totalDuration: 150 })
            expect(Date.parse(after.data.endTime ?? "")).toBe(Date.parse(s.data.startTime) + 150_000)
            expect(after.data.payment?.fromPrincipal).toBe(416_666n)

            // a session without heartbeats keeps the SESSION_MAX_IDLE rule
            const other = yield* client.session.get({ path: { sessionId: without.data.sessionId }, urlParams: { userAddress: quiet } })
            expect(other.data.status).toBe("ACTIVE")
            yield* client.session.stop({ payload: { sessionId: without.data.sessionId, userAddress: quiet } })

            // a heartbeat for a session that is over is 409, and nothing changes
            const late = yield* postJson("/api/session/heartbeat", { sessionId, userAddress: user })
            expect(late.status).toBe(409)
            expect(late.body).toMatchObject({ error: "Conflict", statusCode: 409 })
          })
        )
      ))

    it.effect("a heartbeat after a lapse bills again from its own time: the gap is not billed", () =>
      Effect.flatMap(TimeTravel, (time) =>
        time.frozen(
          Effect.gen(function* () {
            const client = yield* apiClient
            const user = yield* fundedViewer()
            const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
            const ref = { sessionId: s.data.sessionId, userAddress: user }
            yield* time.advance("1 minute")
            yield* client.session.heartbeat({ payload: ref })
            // asleep for five minutes: billable until the heartbeat + 30 s
            yield* time.advance("5 minutes")
            const woke = yield* client.session.heartbeat({ payload: ref })
            expect(woke.data.activeDuration).toBe(90)
            yield* time.advance("20 seconds")
            const stopped = yield* client.session.stop({ payload: ref })
            // 60 s + the 30 s grace + 20 s since the second heartbeat; the 4.5 minutes between are not billed
            expect(stopped.data).toMatchObject({ status: "completed", activeDuration: 110, finalCost: 305_555n, totalDuration: 380 })
          })
        )
      ))

    it.effect("a heartbeat is refused for an unknown session (404), another viewer's (403) and bad input (400)", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } })
        const foreign = yield* postJson("/api/session/heartbeat", { sessionId: s.data.sessionId, userAddress: randomAddress() })
        expect(foreign.status).toBe(403)
        const unknown = yield* postJson("/api/session/heartbeat", { sessionId: "session_lx7g2h_a1b2c3d4", userAddress: user })
        expect(unknown.status).toBe(404)
        const bad = yield* postJson("/api/session/heartbeat", { sessionId: s.data.sessionId, userAddress: user, extra: 1 })
        expect(bad.status).toBe(400)
        const detail = yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: user } })
        expect(detail.data.status).toBe("ACTIVE")
        yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
      }))
  })
})
