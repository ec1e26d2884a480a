/**
 * The webhook retry schedule (src/webhooks/events.ts): the doubling backoff, jittered down by up to half
 * of each wait. Properties run from the run's fast-check seed (printed; FC_SEED replays it).
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { retryDelayMs } from "../src/webhooks/events.js"

/** The schedule without jitter, written out again here: base, doubled after each failure, capped. */
const doubling = (attempts: number, base: number, max: number): number => {
  let wait = base
  for (let n = 1; n < attempts && wait < max; n++) wait *= 2
  return Math.min(wait, max)
}

const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
const schedule = {
  attempts: fc.integer({ min: 1, max: 200 }),
  base: fc.integer({ min: 1, max: 3_600_000 }),
  max: fc.integer({ min: 1, max: 7 * 86_400_000 }),
  draw
}

describe("webhook retry schedule", () => {
  it.prop("every wait is a whole number of ms between half and all of the doubling schedule's, and never above the cap", schedule, ({ attempts, base, draw, max }) => {
    const longest = doubling(attempts, base, max)
    const wait = retryDelayMs(attempts, base, max, draw)
    expect(Number.isInteger(wait)).toBe(true)
    expect(wait).toBeLessThanOrEqual(longest)
    expect(wait).toBeGreaterThanOrEqual(Math.ceil(longest / 2))
    expect(wait).toBeLessThanOrEqual(max)
    // never sooner than half the first wait
    expect(wait).toBeGreaterThanOrEqual(Math.ceil(Math.min(base, max) / 2))
  })

  it.prop("for one draw a later attempt never waits less", schedule, ({ attempts, base, draw, max }) => {
    expect(retryDelayMs(attempts + 1, base, max, draw)).toBeGreaterThanOrEqual(retryDelayMs(attempts, base, max, draw))
  })

  it.prop(
    "the time from the first failure to giving up is between half and all of the doubling schedule's",
    { maxAttempts: fc.integer({ min: 1, max: 40 }), base: schedule.base, max: schedule.max, draws: fc.array(draw, { minLength: 40, maxLength: 40 }) },
    ({ base, draws, max, maxAttempts }) => {
      let total = 0
      let longest = 0
      for (let attempts = 1; attempts < maxAttempts; attempts++) {
        total += retryDelayMs(attempts, base, max, draws[attempts - 1] ?? 0)
        longest += doubling(attempts, base, max)
      }
      expect(total).toBeLessThanOrEqual(longest)
      expect(total).toBeGreaterThanOrEqual(longest / 2)
    }
  )

  it("the draw spreads a wait over its lower half: all of it at 0, three quarters at 0.5, just over half near 1", () => {
    expect([0, 0.5, 0.999_999].map((d) => retryDelayMs(1, 10_000, 3_600_000, d))).toEqual([10_000, 7_500, 5_001])
    expect([0, 0.5, 0.999_999].map((d) => retryDelayMs(30, 10_000, 3_600_000, d))).toEqual([3_600_000, 2_700_000, 1_800_002])
  })
})
