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
 */

export const sweepIdle = Effect.gen(function* () {
  const repo = yield* SessionRepo
  const sessions = yield* Sessions
  const maxIdle = (yield* AppConfig).settlement.sessionMaxIdle
  const now = yield* Clock.currentTimeMillis
  const idle = yield* repo.idleOpen(now - Duration.toMillis(maxIdle), 200)
  const lapsed = yield* repo.lapsedOpen(now, 200)
  let stopped = 0
  for (const s of [...idle, ...lapsed]) {
    const r = yield* Effect.either(sessions.stop(s.id, { _tag: "System" }, Option.none()))
    if (r._tag === "Right") stopped++
  }
  if (stopped > 0) yield* Effect.logInfo("stopped idle sessions", { stopped })
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
