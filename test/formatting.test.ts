import { describe, expect, it } from "@effect/vitest"
import { FastCheck, Schema } from "effect"
import { InsufficientBalance } from "../src/domain/errors.js"
import { AmountString, formatUsdc } from "../src/domain/Money.js"

const MAX_UINT256 = 2n ** 256n - 1n

/** Reads "123.45 USDC" back as smallest units (cents * 10^4): the inverse of formatting, up to truncation. */
const parse = (formatted: string): bigint => {
  const match = /^(\d+)\.(\d{2}) USDC$/.exec(formatted)
  if (!match) throw new Error(`not a formatted amount: ${formatted}`)
  const [, whole = "", cents = ""] = match
  return BigInt(whole) * 1_000_000n + BigInt(cents) * 10_000n
}

describe("formatUsdc", () => {
  it.each([
    [0n, "0.00 USDC"],
    [1n, "0.00 USDC"],
    [9_999n, "0.00 USDC"],
    [10_000n, "0.01 USDC"],
    [19_999n, "0.01 USDC"],
    [999_999n, "0.99 USDC"],
    [1_000_000n, "1.00 USDC"],
    [1_005_000n, "1.00 USDC"],
    [1_009_999n, "1.00 USDC"],
    [1_010_000n, "1.01 USDC"],
    [10_000_000n, "10.00 USDC"],
    [49_999_999n, "49.99 USDC"],
    [50_000_000n, "50.00 USDC"],
    [200_000_000n, "200.00 USDC"],
    [250_000_000n, "250.00 USDC"],
    [123_456_789_012_345_678n, "123456789012.34 USDC"],
    // beyond Number.MAX_SAFE_INTEGER: a float would have lost the last digits
    [9_007_199_254_740_993_999_999n, "9007199254740993.99 USDC"],
    [MAX_UINT256, "115792089237316195423570985008687907853269984665640564039457584007913129.63 USDC"]
  ])("formats %s as %s", (amount, expected) => {
    expect(formatUsdc(amount)).toBe(expected)
  })

  it("uses the given number of decimals", () => {
    expect(formatUsdc(123_456_789n, 8)).toBe("1.23 USDC")
    expect(formatUsdc(15n, 1)).toBe("1.50 USDC")
    expect(formatUsdc(7n, 0)).toBe("7.00 USDC")
    expect(formatUsdc(1_999n, 3)).toBe("1.99 USDC")
  })

  it.prop("never rounds up and is exact to the cent", [FastCheck.bigInt({ min: 0n, max: MAX_UINT256 })], ([amount]) => {
    const shown = parse(formatUsdc(amount))
    expect(shown <= amount).toBe(true)
    expect(amount - shown < 10_000n).toBe(true)
  })

  it.prop("is monotonic", [FastCheck.bigInt({ min: 0n, max: 10n ** 30n }), FastCheck.bigInt({ min: 0n, max: 10n ** 30n })], ([a, b]) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a]
    expect(parse(formatUsdc(lo)) <= parse(formatUsdc(hi))).toBe(true)
  })
})

describe("AmountString", () => {
  it("encodes amounts as decimal strings of the smallest unit and refuses negatives", () => {
    expect(Schema.encodeSync(AmountString)(250_000_000n)).toBe("250000000")
    expect(Schema.encodeSync(AmountString)(MAX_UINT256)).toBe(MAX_UINT256.toString())
    expect(Schema.decodeUnknownSync(AmountString)("10000000")).toBe(10_000_000n)
    expect(() => Schema.decodeUnknownSync(AmountString)("-1")).toThrow()
    expect(() => Schema.decodeUnknownSync(AmountString)("1.5")).toThrow()
  })
})

describe("amounts in messages to viewers", () => {
  it("the insufficient-balance refusal shows USDC and the raw units", () => {
    expect(new InsufficientBalance({ required: 10_000_000n, spendable: 0n }).message).toContain(
      "up to 10.00 USDC (10000000) but only 0.00 USDC (0) is spendable"
    )
    expect(new InsufficientBalance({ required: 2_500_000n, spendable: 1_999_999n }).message).toContain(
      "up to 2.50 USDC (2500000) but only 1.99 USDC (1999999) is spendable"
    )
  })
})
