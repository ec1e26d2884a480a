import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { inject } from "vitest"
import { fcSeedFrom } from "./support/seed.js"

/** Property tests are reproducible: one seed per run, printed, settable with FC_SEED (test/support/seed.ts). */
describe("the fast-check seed", () => {
  it("FC_SEED is read as a 32-bit integer; unset means random; anything else is an error", () => {
    expect(fcSeedFrom("20261201")).toBe(20261201)
    expect(fcSeedFrom("-7")).toBe(-7)
    expect(Number.isInteger(fcSeedFrom(undefined))).toBe(true)
    expect(Number.isInteger(fcSeedFrom(""))).toBe(true)
    for (const bad of ["abc", "1.5", "1e20", "0x"]) expect(() => fcSeedFrom(bad)).toThrow(/FC_SEED/)
  })

  it("every property in this file runs from the run's seed, so the same seed generates the same cases", () => {
    const seed = inject("fcSeed")
    expect(fc.readConfigureGlobal().seed).toBe(seed)
    const cases = (s: number) => fc.sample(fc.string({ maxLength: 40 }), { numRuns: 20, seed: s })
    expect(fc.sample(fc.string({ maxLength: 40 }), 20)).toEqual(cases(seed))
  })

  it("a failing property's report names the seed and the path that replay it", () => {
    const seed = inject("fcSeed")
    const details = fc.check(fc.property(fc.integer(), (n) => n < 50))
    expect(details.failed).toBe(true)
    expect(fc.defaultReportMessage(details)).toContain(`seed: ${seed}`)
    // the same seed and path give the same counterexample
    const replay = fc.check(fc.property(fc.integer(), (n) => n < 50), { seed, path: details.counterexamplePath ?? "", endOnFailure: true })
    expect(replay.counterexample).toEqual(details.counterexample)
  })
})
