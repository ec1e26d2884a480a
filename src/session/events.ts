import { Chunk, Clock, Duration, Effect, Option, type Scope, Stream } from "effect"
import { formatUsdc } from "../domain/Money.js"
import type { DatabaseUnavailable, NotSessionOwner, SessionNotFound } from "../domain/errors.js"
import type { SessionRecord } from "./SessionRepo.js"
import * as View from "./views.js"

/**
 * GET /api/session/:sessionId/events as server-sent events (the WHATWG EventSource format): a
 * `status` event first and on every change of the status (or of the transaction carrying the payment),
 * a `cost` event every second while ACTIVE, a comment line every HEARTBEAT so that proxies keep the
 * connection open, and the end of the stream after the event of a terminal status.
 *
 * The session row is the truth for every instance; it is read when the database says it changed
 * (`changed`, src/db/SessionChanges.ts), once right after subscribing (a change between the caller's
 * first read and the subscription), and every `poll` anyway. A cost event is priced from the row in
 * hand at the clock's time: the row changes only with the session's clock (pause, resume, heartbeat,
 * stop), and each of those is a notified change.
 */

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
  readonly record: SessionRecord
  /** The row must be read before the next wait (just subscribed). */
  readonly stale: boolean
  readonly done: boolean
  readonly seen: string
  readonly costAt: number
  readonly beatAt: number
  readonly readAt: number
}

/** The events `s` calls for at `now`, given what the stream last said. */
const eventsAt = (s: SessionRecord, now: number, state: Pick<State, "seen" | "costAt" | "beatAt">, first: boolean) => {
  const out: Array<string> = []
  const seen = `${s.clock.status}:${txHashOf(s) ?? ""}`
  if (seen !== state.seen) out.push(statusEvent(s, now))
  const costDue = s.clock.status === "ACTIVE" && (first || now - state.costAt >= COST_EVERY_MS)
  if (costDue) out.push(costEvent(s, now))
  if (out.length === 0 && now - state.beatAt >= HEARTBEAT_MS) out.push(": keep-alive\n\n")
  return {
    out,
    next: {
      seen,
      done: TERMINAL.has(s.clock.status),
      costAt: costDue ? now : state.costAt,
      beatAt: out.length > 0 ? now : state.beatAt
    }
  }
}

/**
 * The event stream of a session whose first read (already checked for ownership) is `initial`;
 * `subscribe` gives, for the stream's scope, an effect that completes at the session's next change.
 */
export const sessionEvents = (
  initial: SessionRecord,
  read: Effect.Effect<SessionRecord, DatabaseUnavailable | SessionNotFound | NotSessionOwner>,
  subscribe: Effect.Effect<Effect.Effect<void>, never, Scope.Scope>,
  poll: Duration.Duration
): Stream.Stream<Uint8Array> => {
  const encoder = new TextEncoder()
  const pollMs = Duration.toMillis(poll)
  return Stream.unwrapScoped(
    Effect.gen(function* () {
      const changed = yield* subscribe
      const step = (state: State): Effect.Effect<Option.Option<readonly [Chunk.Chunk<string>, State]>> =>
        Effect.gen(function* () {
          if (state.done) return Option.none()
          let fresh = state.stale
          if (!fresh) {
            const now = yield* Clock.currentTimeMillis
            const active = state.record.clock.status === "ACTIVE"
            const due = Math.min(state.readAt + pollMs, state.beatAt + HEARTBEAT_MS, active ? state.costAt + COST_EVERY_MS : Infinity)
            fresh = yield* Effect.raceFirst(Effect.as(changed, true), Effect.as(Effect.sleep(Duration.millis(Math.max(0, due - now))), false))
          }
          const now = yield* Clock.currentTimeMillis
          const readDue = fresh || now - state.readAt >= pollMs
          // a failed read (the database away for a moment) keeps the row in hand: the next poll tries again
          const current = readDue ? Option.getOrElse(yield* Effect.option(read), () => state.record) : state.record
          const { out, next } = eventsAt(current, now, state, false)
          return Option.some([Chunk.fromIterable(out), { ...next, record: current, stale: false, readAt: readDue ? now : state.readAt }] as const)
        })
      const now = yield* Clock.currentTimeMillis
      const first = eventsAt(initial, now, { seen: "", costAt: now, beatAt: now }, true)
      const start: State = { ...first.next, record: initial, stale: true, readAt: now }
      return Stream.concat(
        Stream.fromIterable(first.out),
        first.next.done ? Stream.empty : Stream.unfoldChunkEffect<State, string, never, never>(start, step)
      )
    })
  ).pipe(Stream.map((text) => encoder.encode(text)))
}
