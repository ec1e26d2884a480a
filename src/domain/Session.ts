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
 *
 * Heartbeats: once a session has had one, only time up to its last heartbeat plus the grace is
 * billed (`liveUntil`). Active time past it counts as paused, so a viewer who closed the tab pays
 * nothing after the grace, whenever the session is finally stopped; a later heartbeat bills again from
 * its own time on. A session without heartbeats (`liveUntil` null) is billed for all its active time.
 */
export const SessionStatus = Schema.Literal("ACTIVE", "PAUSED", "SETTLING", "UNPAID", "COMPLETED", "CANCELLED", "FAILED")
export type SessionStatus = typeof SessionStatus.Type

export type SessionAction = "pause" | "resume" | "stop" | "settle" | "heartbeat"

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
  /** The viewer's last heartbeat; null for a session that never had one. */
  readonly lastHeartbeatAt: number | null
  /** The end of the billable time: the last heartbeat plus the grace; null without heartbeats. */
  readonly liveUntil: number | null
}

export class IllegalTransition extends Schema.TaggedError<IllegalTransition>()("IllegalTransition", {
  from: SessionStatus,
  action: Schema.Literal("pause", "resume", "stop", "settle", "heartbeat")
}) {
  override get message(): string {
    const verb: Record<SessionAction, string> = { pause: "paused", resume: "resumed", stop: "stopped", settle: "settled", heartbeat: "kept alive" }
    return `a ${this.from} session cannot be ${verb[this.action]}`
  }
}

export const start = (now: number): SessionClock => ({
  status: "ACTIVE",
  startedAt: now,
  activeMs: 0,
  pausedMs: 0,
  segmentStartedAt: now,
  endedAt: null,
  lastHeartbeatAt: null,
  liveUntil: null
})

const since = (from: number, now: number): number => Math.max(0, now - from)

/**
 * Where the billable part of the open segment ends when it is looked at `at`: `at` itself, or, for a
 * session with heartbeats, no later than `liveUntil` (and never before the segment's start).
 */
export const billableUntil = (s: SessionClock, at: number): number =>
  s.liveUntil === null ? at : Math.max(s.segmentStartedAt, Math.min(at, s.liveUntil))

/** The open segment up to `at`, split into its billed (active) and its lapsed or paused part. */
const openSegment = (s: SessionClock, at: number): { readonly active: number; readonly paused: number } => {
  const whole = since(s.segmentStartedAt, at)
  if (s.status !== "ACTIVE") return { active: 0, paused: s.status === "PAUSED" ? whole : 0 }
  const active = since(s.segmentStartedAt, billableUntil(s, at))
  return { active, paused: whole - active }
}

/** Durations at `now` (or at the end, for a stopped session), in milliseconds. */
export const durations = (s: SessionClock, now: number): { readonly activeMs: number; readonly pausedMs: number; readonly totalMs: number } => {
  const at = s.endedAt ?? now
  const open = openSegment(s, at)
  return {
    activeMs: s.activeMs + open.active,
    pausedMs: s.pausedMs + open.paused,
    totalMs: since(s.startedAt, at)
  }
}

export const pause = (s: SessionClock, now: number): Either.Either<SessionClock, IllegalTransition> => {
  if (s.status !== "ACTIVE") return Either.left(new IllegalTransition({ from: s.status, action: "pause" }))
  const open = openSegment(s, now)
  return Either.right({
    ...s,
    status: "PAUSED",
    activeMs: s.activeMs + open.active,
    pausedMs: s.pausedMs + open.paused,
    segmentStartedAt: Math.max(now, s.segmentStartedAt)
  })
}

export const resume = (s: SessionClock, now: number): Either.Either<SessionClock, IllegalTransition> =>
  s.status !== "PAUSED"
    ? Either.left(new IllegalTransition({ from: s.status, action: "resume" }))
    : Either.right({ ...s, status: "ACTIVE", pausedMs: s.pausedMs + since(s.segmentStartedAt, now), segmentStartedAt: Math.max(now, s.segmentStartedAt) })

/**
 * A heartbeat at `now`: the session is billable until `now + graceMs`. An ACTIVE session whose
 * billable time had already lapsed closes its segment where it lapsed (the gap counts as paused) and
 * bills again from `now`.
 */
export const heartbeat = (s: SessionClock, now: number, graceMs: number): Either.Either<SessionClock, IllegalTransition> => {
  if (s.status !== "ACTIVE" && s.status !== "PAUSED") return Either.left(new IllegalTransition({ from: s.status, action: "heartbeat" }))
  const at = Math.max(now, s.segmentStartedAt)
  const alive = { ...s, lastHeartbeatAt: at, liveUntil: at + Math.max(0, graceMs) }
  if (s.status === "PAUSED" || s.liveUntil === null || at <= s.liveUntil) return Either.right(alive)
  const open = openSegment(s, at)
  return Either.right({ ...alive, activeMs: s.activeMs + open.active, pausedMs: s.pausedMs + open.paused, segmentStartedAt: at })
}

export interface Stopped {
  readonly clock: SessionClock
  readonly billedSeconds: number
  readonly cost: bigint
}

/**
 * Stops an open session: freezes its clock and prices it. A zero cost ends CANCELLED (nothing to pay),
 * anything else goes to SETTLING until the payment is confirmed. A session with heartbeats stopped
 * after its billable time lapsed ends where it lapsed (`liveUntil`), not at `now`.
 */
export const stop = (
  s: SessionClock,
  now: number,
  price: { readonly fullPrice: bigint; readonly totalDuration: number }
): Either.Either<Stopped, IllegalTransition> => {
  if (s.status !== "ACTIVE" && s.status !== "PAUSED") {
    return Either.left(new IllegalTransition({ from: s.status, action: "stop" }))
  }
  const end = billableUntil(s, Math.max(now, s.segmentStartedAt))
  const d = durations(s, end)
  const billed = billedSeconds(d.activeMs)
  const cost = costOf(price.fullPrice, billed, price.totalDuration)
  const clock: SessionClock = {
    status: cost === 0n ? "CANCELLED" : "SETTLING",
    startedAt: s.startedAt,
    activeMs: d.activeMs,
    pausedMs: d.pausedMs,
    segmentStartedAt: end,
    endedAt: end,
    lastHeartbeatAt: s.lastHeartbeatAt,
    liveUntil: s.liveUntil
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
