import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import { bumpFees, cappedFees } from "../src/session/SettlementSender.js"
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
