import { Chunk, Clock, Duration, Effect, Option, Stream } from "effect"
import { formatUsdc } from "../domain/Money.js"
import type { DatabaseUnavailable, NotSessionOwner, SessionNotFound } from "../domain/errors.js"
import type { SessionRecord } from "./SessionRepo.js"
import * as View from "./views.js"

/**
 * GET /api/session/:sessionId/events as server-sent events (the WHATWG EventSource format): a
 * `status` event first and on every change of the status (or of the transaction carrying the payment),
 * a `cost` event every second while ACTIVE, a comment line every HEARTBEAT so that proxies keep the
 * connection open, and the end of the stream after the event of a terminal status. The session row is
 * read every POLL (it is the truth for every instance); the first answer is the caller's own read.
 */

const POLL = Duration.millis(250)
const COST_EVERY_MS = 1_000
const HEARTBEAT_MS = 15_000

/** Where the stream ends: the session is over (UNPAID is over for the viewer: the debt is settled later). */
const TERMINAL: ReadonlySet<string> = new Set(["COMPLETED", "CANCELLED", "FAILED", "UNPAID"])

const amounts = (_key: string, value: unknown): unknown => (typeof value === "bigint" ? value.toString() : value)

export const sseEvent = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data, amounts)}\n\n`

const txHashOf = (s: SessionRecord): string | null => Option.getOrNull(Option.flatMapNullable(s.settlement, (t) => t.txHash))

const statusEvent = (s: SessionRecord, now: number): string => {
  const d = View.detail(s, now)
  return sseEvent("status", {
    sessionId: d.sessionId,
    status: d.status,
    finalCost: d.finalCost,
    txHash: txHashOf(s),
    payment: d.payment,
    failureReason: d.failureReason
  })
}

/** The running cost, priced by the domain's rules (src/domain/Pricing.ts) at `now`. */
const costEvent = (s: SessionRecord, now: number): string => {
  const t = View.timing(s, now)
  return sseEvent("cost", { sessionId: s.id, billedSeconds: t.activeDuration, currentCost: t.currentCost, currentCostUsdc: formatUsdc(t.currentCost) })
}

interface State {
  readonly first: boolean
  readonly done: boolean
  readonly seen: string
  readonly costAt: number
  readonly beatAt: number
}

/** The event stream of a session whose first read (already checked for ownership) is `initial`. */
export const sessionEvents = (
  initial: SessionRecord,
  read: Effect.Effect<SessionRecord, DatabaseUnavailable | SessionNotFound | NotSessionOwner>
): Stream.Stream<Uint8Array> => {
  const encoder = new TextEncoder()
  const step = (state: State): Effect.Effect<Option.Option<readonly [Chunk.Chunk<string>, State]>> =>
    Effect.gen(function* () {
      if (state.done) return Option.none()
      if (!state.first) yield* Effect.sleep(POLL)
      // a failed read (the database away for a moment) is a quiet poll: the next one tries again
      const current = state.first ? Option.some(initial) : yield* Effect.option(Effect.uninterruptible(read))
      const now = yield* Clock.currentTimeMillis
      if (Option.isNone(current)) {
        return Option.some([Chunk.empty<string>(), state] as const)
      }
      const s = current.value
      const out: Array<string> = []
      const seen = `${s.clock.status}:${txHashOf(s) ?? ""}`
      if (seen !== state.seen) out.push(statusEvent(s, now))
      const active = s.clock.status === "ACTIVE"
      const costDue = active && (state.first || now - state.costAt >= COST_EVERY_MS)
      if (costDue) out.push(costEvent(s, now))
      const beatDue = out.length === 0 && now - state.beatAt >= HEARTBEAT_MS
      if (beatDue) out.push(": keep-alive\n\n")
      const next: State = {
        first: false,
        done: TERMINAL.has(s.clock.status),
        seen,
        costAt: costDue ? now : state.costAt,
        beatAt: out.length > 0 ? now : state.beatAt
      }
      return Option.some([Chunk.fromIterable(out), next] as const)
    })
  return Stream.unwrap(
    Effect.map(Clock.currentTimeMillis, (now) => Stream.unfoldChunkEffect<State, string, never, never>({ first: true, done: false, seen: "", costAt: now, beatAt: now }, step))
  ).pipe(Stream.map((text) => encoder.encode(text)))
}
