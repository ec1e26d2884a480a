import { Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { ListingOutbox, type ListingReport } from "./ListingOutbox.js"

/**
 * The listing outbox's reconciler step: at start-up and then every RECONCILE_INTERVAL (the settlement
 * reconciler's interval), publishes every catalogue change still pending, so that a change whose chain
 * write never happened (a crash, an unreachable chain) or had to wait (sessions at the old terms) ends
 * with the database and the chain agreeing.
 */
export const ListingReconcilerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const outbox = yield* ListingOutbox
    const every = (yield* AppConfig).settlement.reconcileEvery
    const report = (r: ListingReport) => (r.synced + r.pending > 0 ? Effect.logInfo("content listings reconciled", r) : Effect.void)
    const pass = outbox.reconcile.pipe(
      Effect.flatMap(report),
      Effect.catchAllCause((cause) => Effect.logWarning("content listing reconcile failed", cause))
    )
    yield* pass
    yield* pass.pipe(Effect.repeat(Schedule.spaced(every)), Effect.delay(every), Effect.forkScoped)
  })
)
