import { Schema } from "effect"

/** Wire form of an amount: a decimal string of the smallest unit. */
export const AmountString = Schema.BigInt.pipe(Schema.nonNegativeBigInt()).annotations({
  identifier: "AmountString",
  description: "Token amount in the smallest unit (USDC has 6 decimals), as a decimal string",
  examples: [10000000n]
})

const USDC_DECIMALS = 6

/**
 * Formats an amount with two decimals, never rounding up: 999999 -> "0.99 USDC".
 * Works on the bigint itself: no floating point is involved.
 */
export const formatUsdc = (amount: bigint, decimals: number = USDC_DECIMALS): string => {
  const negative = amount < 0n
  const abs = negative ? -amount : amount
  const unit = 10n ** BigInt(decimals)
  const whole = abs / unit
  const cents = decimals >= 2 ? (abs % unit) / 10n ** BigInt(decimals - 2) : (abs % unit) * 10n ** BigInt(2 - decimals)
  return `${negative ? "-" : ""}${whole}.${cents.toString().padStart(2, "0")} USDC`
}
