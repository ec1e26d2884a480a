/** Amounts (bigint, the token's smallest unit) and durations as the page shows them. */

const UNIT = 1_000_000n

/** `units` of USDC with `digits` decimals (2 or 6), truncated like the API's `formatted` amounts. */
export function formatUsdc(units, digits = 2) {
  const value = BigInt(units)
  const whole = value / UNIT
  const fraction = (value % UNIT).toString().padStart(6, "0").slice(0, digits)
  return `${whole}.${fraction} USDC`
}

/** Seconds as m:ss or h:mm:ss. */
export function formatClock(seconds) {
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h > 0 ? 2 : 1, "0")
  const ss = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}
