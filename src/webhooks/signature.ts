import { createHmac, timingSafeEqual } from "node:crypto"

/**
 * The `Payg-Signature` header of a webhook, as Stripe's `Stripe-Signature`: `t=<unix seconds>,v1=<hex>`,
 * where the hex is HMAC-SHA256 of `"<t>.<raw body>"` keyed by WEBHOOK_SECRET. The timestamp is part of
 * what is signed, so a receiver that bounds its age refuses a replayed request.
 */
export const SIGNATURE_HEADER = "Payg-Signature"

const hmacHex = (secret: string, timestamp: number, body: string): string =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")

/** The header's value for `body` sent at `timestamp` (unix seconds). */
export const signWebhook = (secret: string, timestamp: number, body: string): string => `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`

export type WebhookVerification =
  | { readonly valid: true; readonly timestamp: number }
  | { readonly valid: false; readonly reason: string }

/**
 * For receivers: checks a `Payg-Signature` header against the raw request body (the bytes as received,
 * before any JSON parsing) and the shared secret. Valid when one `v1` signature matches (compared in
 * constant time) and the timestamp is within `toleranceSeconds` of `nowSeconds` (default: the clock).
 * Deduplicate deliveries by the event's `id`: an event may arrive more than once.
 */
export const verifyWebhook = (
  secret: string,
  header: string | null | undefined,
  body: string,
  toleranceSeconds: number,
  nowSeconds: number = Math.floor(Date.now() / 1000)
): WebhookVerification => {
  if (header === null || header === undefined || header === "") return { valid: false, reason: "no signature header" }
  const parts = header.split(",").map((p) => p.trim())
  const stamps = parts.filter((p) => p.startsWith("t=")).map((p) => p.slice(2))
  const signatures = parts.filter((p) => p.startsWith("v1=")).map((p) => p.slice(3))
  const stamp = stamps[0]
  if (stamps.length !== 1 || stamp === undefined || !/^[0-9]{1,12}$/.test(stamp)) return { valid: false, reason: "no valid timestamp (t=)" }
  if (signatures.length === 0) return { valid: false, reason: "no v1 signature" }
  const timestamp = Number(stamp)
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { valid: false, reason: `the timestamp is outside the tolerance of ${toleranceSeconds} s` }
  const expected = Buffer.from(hmacHex(secret, timestamp, body), "hex")
  const matches = signatures.some((s) => {
    if (!/^[0-9a-f]{64}$/.test(s)) return false
    return timingSafeEqual(Buffer.from(s, "hex"), expected)
  })
  return matches ? { valid: true, timestamp } : { valid: false, reason: "no signature matches" }
}
