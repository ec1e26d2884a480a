import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import { bumpFees, cappedFees, paceOf, sendMargin } from "../src/session/SettlementSender.js"
import "./support/fastCheckSeed.js"

const wei = fc.bigInt({ min: 1n, max: 10n ** 15n })
const fees = fc.record({ maxFeePerGas: wei, maxPriorityFeePerGas: wei })
/** Fees as a node accepts them: the priority fee within the fee cap. */
const sentFees = fees.map((f) => (f.maxPriorityFeePerGas > f.maxFeePerGas ? { ...f, maxPriorityFeePerGas: f.maxFeePerGas } : f))
const cap = fc.option(wei, { nil: undefined }).map(Option.fromNullable)

describe("settlement fees", () => {
  it.prop("a replacement raises both fees by 10% or more, never above a cap; none when a cap forbids the bump", { old: sentFees, suggested: fees, maxFee: cap, maxPriority: cap }, ({ maxFee, maxPriority, old, suggested }) => {
    const bumped = bumpFees(old, suggested, { maxFee, maxPriority })
    const required = (x: bigint) => (x * 11n + 9n) / 10n
    if (Option.isNone(bumped)) {
      const fee = Option.match(maxFee, { onNone: () => required(old.maxFeePerGas), onSome: (c) => (c < required(old.maxFeePerGas) ? c : required(old.maxFeePerGas)) })
      const blocked =
        fee < required(old.maxFeePerGas) ||
        Option.exists(maxPriority, (c) => c < required(old.maxPriorityFeePerGas)) ||
        // the priority fee can never exceed the fee cap
        Option.exists(maxFee, (c) => c < required(old.maxPriorityFeePerGas))
      expect(blocked).toBe(true)
      return
    }
    const b = bumped.value
    expect(b.maxFeePerGas * 10n).toBeGreaterThanOrEqual(old.maxFeePerGas * 11n)
    expect(b.maxPriorityFeePerGas * 10n).toBeGreaterThanOrEqual(old.maxPriorityFeePerGas * 11n)
    expect(b.maxPriorityFeePerGas).toBeLessThanOrEqual(b.maxFeePerGas)
    if (Option.isSome(maxFee)) expect(b.maxFeePerGas).toBeLessThanOrEqual(maxFee.value)
    if (Option.isSome(maxPriority)) expect(b.maxPriorityFeePerGas).toBeLessThanOrEqual(maxPriority.value)
  })

  it.prop("a first send takes the node's suggestion within the caps, the priority fee never above the fee cap", { suggested: fees, maxFee: cap, maxPriority: cap }, ({ maxFee, maxPriority, suggested }) => {
    const f = cappedFees(suggested, { maxFee, maxPriority })
    expect(f.maxFeePerGas).toBe(Option.match(maxFee, { onNone: () => suggested.maxFeePerGas, onSome: (c) => (c < suggested.maxFeePerGas ? c : suggested.maxFeePerGas) }))
    expect(f.maxPriorityFeePerGas).toBeLessThanOrEqual(f.maxFeePerGas)
    expect(f.maxPriorityFeePerGas).toBeLessThanOrEqual(suggested.maxPriorityFeePerGas)
  })

  it("the bump is the smallest one nodes accept when the suggestion is lower", () => {
    expect(bumpFees({ maxFeePerGas: 100n, maxPriorityFeePerGas: 10n }, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, { maxFee: Option.none(), maxPriority: Option.none() })).toEqual(
      Option.some({ maxFeePerGas: 110n, maxPriorityFeePerGas: 11n })
    )
  })
})

describe("the settlement sender's block clock", () => {
  /** Heads of a chain mining every `interval` ms from `t0`, each seen late by `lateBy(i)` ms (the view's poll). */
  const heads = (n: number, interval: number, lateBy: (i: number) => number, t0 = 1_000_000) =>
    Array.from({ length: n }, (_, i) => ({ block: BigInt(100 + i), at: t0 + i * interval + lateBy(i) }))

  it("a steady chain seen late by parts of a poll: the time per block and the next block's time, within a poll's error", () => {
    const seen = heads(16, 400, (i) => 20 + ((i * 150) % 250))
    const pace = paceOf(seen, Option.some(500))
    expect(Option.isSome(pace)).toBe(true)
    if (Option.isNone(pace)) return
    expect(Math.abs(pace.value.interval - 400)).toBeLessThan(20)
    // block 116 is mined at t0 + 16 x 400: expected no earlier, and less than one poll later
    const due = pace.value.expectedAt(116n) - (1_000_000 + 16 * 400)
    expect(due).toBeGreaterThanOrEqual(0)
    expect(due).toBeLessThan(100)
  })

  it("no pace: too few heads, none from the view, blocks that come with transactions, a halt or a clock jump just before", () => {
    expect(Option.isNone(paceOf(heads(5, 400, () => 30), Option.some(400)))).toBe(true)
    expect(Option.isNone(paceOf(heads(16, 400, () => 30), Option.none()))).toBe(true)
    const automined = [50, 3_000, 80, 9_000, 40, 2_500, 60, 7_000].map((_, i, gaps) => ({
      block: BigInt(i),
      at: gaps.slice(0, i + 1).reduce((a, b) => a + b, 0)
    }))
    expect(Option.isNone(paceOf(automined, Option.some(2_500)))).toBe(true)
    const jumped = heads(16, 400, (i) => (i >= 12 ? 360_000 : 30))
    expect(Option.isNone(paceOf(jumped, Option.some(400)))).toBe(true)
    // six steady heads after the jump: the pace is known again, from those only
    const again = paceOf(heads(20, 400, (i) => (i >= 12 ? 360_000 : 30)), Option.some(400))
    expect(Option.map(again, (p) => Math.round(p.interval))).toEqual(Option.some(400))
  })

  it("the margin before a block covers the slowest send measured, half a block at first, three quarters at most", () => {
    expect(sendMargin([], 400)).toBe(200)
    expect(sendMargin([40, 80, 50], 400)).toBe(1.25 * 80 + 80)
    expect(sendMargin([200, 5, 10], 12_000)).toBe(1.25 * 200 + 2_400)
    expect(sendMargin([900, 1_000, 950], 400)).toBe(300)
    expect(sendMargin([1, 1, 1], 100)).toBe(30)
  })
})
