import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { formatUsdc } from "../src/domain/Money.js"
import { billedSeconds, costOf } from "../src/domain/Pricing.js"
import * as Session from "../src/domain/Session.js"

const price = fc.bigInt({ min: 0n, max: 10n ** 30n })
const duration = fc.integer({ min: 1, max: 10 * 24 * 3600 })
const seconds = fc.integer({ min: 0, max: 30 * 24 * 3600 })

describe("pricing", () => {
  it.prop("cost = min(fullPrice, floor(fullPrice * billed / duration)) exactly", { price, billed: seconds, duration }, ({ billed, duration, price }) => {
    const expected = (price * BigInt(billed)) / BigInt(duration)
    expect(costOf(price, billed, duration)).toBe(expected < price ? expected : price)
  })

  it.prop("cost never exceeds the full price", { price, billed: seconds, duration }, ({ billed, duration, price }) => {
    expect(costOf(price, billed, duration) <= price).toBe(true)
  })

  it.prop(
    "cost never decreases as active time grows",
    { price, a: seconds, b: seconds, duration },
    ({ a, b, duration, price }) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      expect(costOf(price, lo, duration) <= costOf(price, hi, duration)).toBe(true)
    }
  )

  it.prop("billed seconds are whole seconds of active time, rounded down", { ms: fc.integer({ min: 0, max: 2 ** 40 }) }, ({ ms }) => {
    const b = billedSeconds(ms)
    expect(Number.isInteger(b)).toBe(true)
    expect(b * 1000 <= ms && ms < (b + 1) * 1000).toBe(true)
  })

  it("formats two decimals without rounding up", () => {
    expect(formatUsdc(0n)).toBe("0.00 USDC")
    expect(formatUsdc(1n)).toBe("0.00 USDC")
    expect(formatUsdc(999_999n)).toBe("0.99 USDC")
    expect(formatUsdc(50_000_000n)).toBe("50.00 USDC")
    expect(formatUsdc(123_456_789_012_345_678_901n)).toBe("123456789012345.67 USDC")
  })
})

/** A random walk of actions with strictly non-negative time steps. */
const action = fc.record({
  kind: fc.constantFrom("pause", "resume", "stop", "settle-ok", "settle-fail", "settle-debt"),
  dt: fc.integer({ min: 0, max: 4 * 3600 * 1000 })
})

describe("session state machine", () => {
  it.prop(
    "paused time is never billed, billed time never exceeds wall time, illegal transitions are rejected",
    { steps: fc.array(action, { maxLength: 40 }), fullPrice: price, totalDuration: duration, t0: fc.integer({ min: 0, max: 2 ** 41 }) },
    ({ fullPrice, steps, t0, totalDuration }) => {
      let clock = Session.start(t0)
      let now = t0
      let activeWall = 0
      let cost: bigint | undefined
      for (const step of steps) {
        if (clock.status === "ACTIVE") activeWall += step.dt
        now += step.dt
        const before = clock.status
        let result: Either.Either<Session.SessionClock, Session.IllegalTransition>
        switch (step.kind) {
          case "pause":
            result = Session.pause(clock, now)
            expect(Either.isRight(result)).toBe(before === "ACTIVE")
            break
          case "resume":
            result = Session.resume(clock, now)
            expect(Either.isRight(result)).toBe(before === "PAUSED")
            break
          case "stop": {
            const stopped = Session.stop(clock, now, { fullPrice, totalDuration })
            expect(Either.isRight(stopped)).toBe(before === "ACTIVE" || before === "PAUSED")
            result = Either.map(stopped, (s) => {
              cost = s.cost
              expect(s.billedSeconds).toBe(Math.floor(activeWall / 1000))
              expect(s.cost).toBe(costOf(fullPrice, s.billedSeconds, totalDuration))
              expect(s.clock.status).toBe(s.cost === 0n ? "CANCELLED" : "SETTLING")
              return s.clock
            })
            break
          }
          case "settle-ok":
          case "settle-fail":
            result = Session.settle(clock, step.kind === "settle-ok" ? "COMPLETED" : "FAILED")
            // a debt (UNPAID) is still paid or given up later
            expect(Either.isRight(result)).toBe(before === "SETTLING" || before === "UNPAID")
            break
          case "settle-debt":
            result = Session.settle(clock, "UNPAID")
            expect(Either.isRight(result)).toBe(before === "SETTLING")
            break
          default:
            throw new Error(`unknown action ${String(step.kind)}`)
        }
        if (Either.isRight(result)) clock = result.right
        else expect(result.left.from).toBe(before)
        const d = Session.durations(clock, now)
        // only active segments are billed; the rest of the wall time is paused (or after the end)
        expect(d.activeMs).toBe(activeWall)
        expect(d.activeMs + d.pausedMs).toBe(d.totalMs)
        expect(d.totalMs).toBeLessThanOrEqual(now - t0)
        if (clock.endedAt !== null) activeWall = d.activeMs // time after the end is never billed
      }
      if (cost !== undefined) expect(cost <= fullPrice).toBe(true)
    }
  )

  it("session ids have the seed's form: session_<base36 ms>_<8 hex>", () => {
    const a = Session.makeSessionId(1_700_000_000_000, "a1b2c3d4")
    expect(a).toMatch(/^session_[0-9a-z]+_a1b2c3d4$/)
    expect(parseInt(a.split("_")[1] ?? "", 36)).toBe(1_700_000_000_000)
  })
})
