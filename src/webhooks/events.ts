import { checksum, type Address } from "../domain/Address.js"

/** The settlement outcomes a receiver hears of, one event per session and type. */
export type WebhookEventType = "session.completed" | "session.failed" | "session.debt"

/** The session statuses that make an event: paid (COMPLETED), failed for good (FAILED), owed (UNPAID). */
export const eventTypeOf = (status: "COMPLETED" | "FAILED" | "UNPAID"): WebhookEventType => {
  switch (status) {
    case "COMPLETED":
      return "session.completed"
    case "FAILED":
      return "session.failed"
    case "UNPAID":
      return "session.debt"
  }
}

/** A finished session and its settlement as the dispatcher reads them (amounts in base units). */
export interface FinishedSession {
  readonly sessionId: string
  readonly status: "COMPLETED" | "FAILED" | "UNPAID"
  readonly userAddress: Address
  readonly contentId: string
  readonly settlementKey: bigint
  readonly startedAt: number
  readonly endedAt: number | null
  readonly billedSeconds: number | null
  readonly finalCost: bigint | null
  readonly failureReason: string | null
  readonly updatedAt: number
  readonly payment: {
    readonly mode: "operator" | "user"
    readonly status: "PENDING" | "DEBT" | "CONFIRMED" | "FAILED"
    readonly amount: bigint
    readonly attempts: number
    readonly txHash: string | null
    readonly blockNumber: bigint | null
    readonly fromYield: bigint | null
    readonly fromPrincipal: bigint | null
    readonly failureReason: string | null
  } | null
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())
const text = (n: bigint | null): string | null => (n === null ? null : n.toString())

/**
 * The JSON body of an event (docs/API.md, "Webhooks"): its id (deduplicate by it), type, creation time
 * (unix seconds and ISO), and the session and its payment as they were when the event was made.
 * Amounts are decimal strings of base units; addresses are EIP-55.
 */
export const eventBody = (id: string, createdAt: number, s: FinishedSession): string =>
  JSON.stringify({
    id,
    type: eventTypeOf(s.status),
    created: Math.floor(createdAt / 1000),
    createdAt: iso(createdAt),
    data: {
      session: {
        sessionId: s.sessionId,
        status: s.status,
        userAddress: checksum(s.userAddress),
        contentId: s.contentId,
        settlementKey: s.settlementKey.toString(),
        startTime: iso(s.startedAt),
        endTime: iso(s.endedAt),
        billedSeconds: s.billedSeconds,
        finalCost: text(s.finalCost),
        failureReason: s.failureReason
      },
      payment:
        s.payment === null
          ? null
          : {
              mode: s.payment.mode,
              status: s.payment.status,
              amount: s.payment.amount.toString(),
              attempts: s.payment.attempts,
              txHash: s.payment.txHash,
              blockNumber: text(s.payment.blockNumber),
              fromYield: text(s.payment.fromYield),
              fromPrincipal: text(s.payment.fromPrincipal),
              failureReason: s.payment.failureReason
            }
    }
  })

/** The longest wait before delivery attempt `attempts + 1`: `base * 2^(attempts - 1)`, at most `max`. */
export const backoffMs = (attempts: number, baseMs: number, maxMs: number): number =>
  Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40))

/**
 * The wait before delivery attempt `attempts + 1`: `backoffMs` less a random part of up to half of it,
 * so between half and all of it (never above `max`). Events that failed together (a receiver down)
 * are then not all retried in the same pass. `draw` is uniform in [0, 1) (Effect's `Random.next`).
 */
export const retryDelayMs = (attempts: number, baseMs: number, maxMs: number, draw: number): number => {
  const longest = backoffMs(attempts, baseMs, maxMs)
  return longest - Math.floor(draw * (longest / 2))
}
