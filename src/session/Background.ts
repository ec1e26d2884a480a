import { Clock, Duration, Effect, Layer, Option, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { SessionRepo } from "./SessionRepo.js"
import { Sessions } from "./Sessions.js"
import { type ReconcileReport, SettlementOutbox } from "./SettlementOutbox.js"

/**
 * The reconciler, run once at start-up and then periodically: finishes every SETTLING session and
 * retries every debt (an UNPAID session) whose viewer can pay again.
 * The sweeper: stops and settles sessions without heartbeats left open past SESSION_MAX_IDLE since
 * their last change, and sessions with heartbeats whose billable time (last heartbeat + HEARTBEAT_GRACE)
 * has lapsed; those are billed only up to that time, whenever the sweep runs (Session.stop).
 * It also stops every viewer-signed session, however alive, once its signed deadline is nearer than
 * AUTHORIZATION_MARGIN plus one sweep period: the wallet refuses a settlement mined after the deadline,
 * so a session kept open by pauses, resumes or heartbeats would otherwise never pay its creator. The
 * margin is the one the deadline was signed with (docs/SECURITY.md point 6): the settlement keeps the
 * whole of it to be sent, mined, resent by the reconciler or retried as a debt.
 */

/** The signed deadlines (unix seconds) before which the sweep at `nowMs` stops a session: now + margin + the sweep's period. */
const signedStopBefore = (nowMs: number, t: { readonly margin: Duration.Duration; readonly every: Duration.Duration }): bigint =>
  BigInt(Math.ceil((nowMs + Duration.toMillis(t.margin) + Duration.toMillis(t.every)) / 1000))

export const sweepIdle = Effect.gen(function* () {
  const repo = yield* SessionRepo
  const sessions = yield* Sessions
  const config = yield* AppConfig
  const now = yield* Clock.currentTimeMillis
  const idle = yield* repo.idleOpen(now - Duration.toMillis(config.settlement.sessionMaxIdle), 200)
  const lapsed = yield* repo.lapsedOpen(now, 200)
  const expiring = yield* repo.expiringOpen(signedStopBefore(now, { margin: config.authorization.margin, every: config.settlement.reconcileEvery }), 200)
  const due = new Map([...expiring, ...idle, ...lapsed].map((s) => [s.id, s]))
  let stopped = 0
  for (const s of due.values()) {
    const r = yield* Effect.either(sessions.stop(s.id, { _tag: "System" }, Option.none()))
    if (r._tag === "Right") stopped++
  }
  if (stopped > 0) yield* Effect.logInfo("sweeper stopped sessions", { stopped, nearSignedDeadline: expiring.length })
  return stopped
}).pipe(Effect.withSpan("Sweeper.sweep"))

export const BackgroundLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const outbox = yield* SettlementOutbox
    const every = (yield* AppConfig).settlement.reconcileEvery
    const report = (label: string) => (r: ReconcileReport) =>
      r.confirmed + r.failed + r.stillPending + r.debts > 0 ? Effect.logInfo(label, r) : Effect.void
    // at start-up: everything pending is from a previous run
    yield* outbox.reconcile(0).pipe(Effect.tap(report("reconciled at start-up")), Effect.catchAll((e) => Effect.logWarning("reconcile failed", { reason: e.message })))
    const loop = <A, E, R>(name: string, task: Effect.Effect<A, E, R>) =>
      task.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`${name} failed`, cause)),
        Effect.repeat(Schedule.spaced(every)),
        Effect.delay(every),
        Effect.forkScoped
      )
    // later runs leave alone what a request may still be sending (a resend would be harmless, only wasteful)
    const grace = Math.max(Duration.toMillis(every), 60_000)
    yield* loop("reconcile", Effect.flatMap(outbox.reconcile(grace), report("reconciled")))
    yield* loop("sweep", sweepIdle)
  })
)
