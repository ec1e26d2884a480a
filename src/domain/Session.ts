import { Either, Schema } from "effect"
import { billedSeconds, costOf } from "./Pricing.js"

/**
 * Session lifecycle (DESIGN.md section 5) as pure functions over timestamps in epoch milliseconds.
 *
 *   ACTIVE <-> PAUSED
 *   ACTIVE | PAUSED --stop--> CANCELLED (cost 0) | SETTLING --> COMPLETED | FAILED | UNPAID
 *   UNPAID --> COMPLETED | FAILED
 *
 * UNPAID: the chain refused the payment for lack of funds or allowance; the cost is owed (a debt)
 * until the reconciler settles it.
 */
export const SessionStatus = Schema.Literal("ACTIVE", "PAUSED", "SETTLING", "UNPAID", "COMPLETED", "CANCELLED", "FAILED")
export type SessionStatus = typeof SessionStatus.Type

export type SessionAction = "pause" | "resume" | "stop" | "settle"

/** The clock part of a session: everything needed to bill it. */
export interface SessionClock {
  readonly status: SessionStatus
  readonly startedAt: number
  /** Active milliseconds accumulated in segments that have ended. */
  readonly activeMs: number
  /** Paused milliseconds accumulated in pauses that have ended. */
  readonly pausedMs: number
  /** Start of the current ACTIVE or PAUSED segment. */
  readonly segmentStartedAt: number
  /** When the session was stopped; null while open. */
  readonly endedAt: number | null
}

export class IllegalTransition extends Schema.TaggedError<IllegalTransition>()("IllegalTransition", {
  from: SessionStatus,
  action: Schema.Literal("pause", "resume", "stop", "settle")
}) {
  override get message(): string {
    const verb: Record<SessionAction, string> = { pause: "paused", resume: "resumed", stop: "stopped", settle: "settled" }
    return `a ${this.from} session cannot be ${verb[this.action]}`
  }
}

export const start = (now: number): SessionClock => ({
  status: "ACTIVE",
  startedAt: now,
  activeMs: 0,
  pausedMs: 0,
  segmentStartedAt: now,
  endedAt: null
})

const since = (from: number, now: number): number => Math.max(0, now - from)

/** Durations at `now` (or at the end, for a stopped session), in milliseconds. */
export const durations = (s: SessionClock, now: number): { readonly activeMs: number; readonly pausedMs: number; readonly totalMs: number } => {
  const at = s.endedAt ?? now
  const openSegment = since(s.segmentStartedAt, at)
  return {
    activeMs: s.activeMs + (s.status === "ACTIVE" ? openSegment : 0),
    pausedMs: s.pausedMs + (s.status === "PAUSED" ? openSegment : 0),
    totalMs: since(s.startedAt, at)
  }
}

export const pause = (s: SessionClock, now: number): Either.Either<SessionClock, IllegalTransition> =>
  s.status !== "ACTIVE"
    ? Either.left(new IllegalTransition({ from: s.status, action: "pause" }))
    : Either.right({ ...s, status: "PAUSED", activeMs: s.activeMs + since(s.segmentStartedAt, now), segmentStartedAt: Math.max(now, s.segmentStartedAt) })

export const resume = (s: SessionClock, now: number): Either.Either<SessionClock, IllegalTransition> =>
  s.status !== "PAUSED"
    ? Either.left(new IllegalTransition({ from: s.status, action: "resume" }))
    : Either.right({ ...s, status: "ACTIVE", pausedMs: s.pausedMs + since(s.segmentStartedAt, now), segmentStartedAt: Math.max(now, s.segmentStartedAt) })

export interface Stopped {
  readonly clock: SessionClock
  readonly billedSeconds: number
  readonly cost: bigint
}

/**
 * Stops an open session: freezes its clock and prices it. A zero cost ends CANCELLED (nothing to pay),
 * anything else goes to SETTLING until the payment is confirmed.
 */
export const stop = (
  s: SessionClock,
  now: number,
  price: { readonly fullPrice: bigint; readonly totalDuration: number }
): Either.Either<Stopped, IllegalTransition> => {
  if (s.status !== "ACTIVE" && s.status !== "PAUSED") {
    return Either.left(new IllegalTransition({ from: s.status, action: "stop" }))
  }
  const end = Math.max(now, s.segmentStartedAt)
  const d = durations(s, end)
  const billed = billedSeconds(d.activeMs)
  const cost = costOf(price.fullPrice, billed, price.totalDuration)
  const clock: SessionClock = {
    status: cost === 0n ? "CANCELLED" : "SETTLING",
    startedAt: s.startedAt,
    activeMs: d.activeMs,
    pausedMs: d.pausedMs,
    segmentStartedAt: end,
    endedAt: end
  }
  return Either.right({ clock, billedSeconds: billed, cost })
}

/**
 * The outcome of a settlement: a SETTLING session takes any; an UNPAID one (a debt) is only ever paid
 * or given up for good, it never becomes a debt twice.
 */
export const settle = (s: SessionClock, outcome: "COMPLETED" | "FAILED" | "UNPAID"): Either.Either<SessionClock, IllegalTransition> =>
  s.status === "SETTLING" || (s.status === "UNPAID" && outcome !== "UNPAID")
    ? Either.right({ ...s, status: outcome })
    : Either.left(new IllegalTransition({ from: s.status, action: "settle" }))

/** The most an open session can still cost: the full price (used to reserve balance at start). */
export const estimatedCost = (fullPrice: bigint): bigint => fullPrice

/** Session ids in the seed's form: `session_<base36 ms>_<8 hex>`. */
export const SessionId = Schema.String.pipe(
  Schema.pattern(/^session_[0-9a-z]{1,12}_[0-9a-f]{8}$/, { message: () => "must look like session_<base36>_<8 hex digits>" }),
  Schema.brand("SessionId")
)
export type SessionId = typeof SessionId.Type

export const makeSessionId = (nowMs: number, randomHex8: string): SessionId =>
  SessionId.make(`session_${nowMs.toString(36)}_${randomHex8}`)
