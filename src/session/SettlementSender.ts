import { SqlClient } from "@effect/sql"
import { Context, Deferred, Duration, Effect, Exit, Layer, Metric, Queue } from "effect"
import { AppConfig } from "../config.js"
import { Chain, type Settlement, type SettlementRequest } from "../domain/Chain.js"
import { ChainUnavailable, SettlementRejected } from "../domain/errors.js"
import { settlementsSent } from "../metrics/Metrics.js"

type SettleError = SettlementRejected | ChainUnavailable

/**
 * Sends the operator's settlements to the chain and answers each with its own outcome; it records
 * nothing (`SettlementOutbox` does). One operator key sends every backend transaction, so sends are
 * serialised: in this process by the chain adapter, across instances by a PostgreSQL advisory lock
 * held for the duration of the send. Settlements that are ready together go out in one
 * `settleBatch` transaction (SETTLEMENT_BATCH=on, the default), collected for a short window.
 */
export class SettlementSender extends Context.Tag("payg/SettlementSender")<
  SettlementSender,
  { readonly send: (request: SettlementRequest) => Effect.Effect<Settlement, SettleError> }
>() {}

/** Arbitrary, fixed: the advisory lock id that serialises operator sends across instances. */
const OPERATOR_LOCK = 7_420_001

export const SettlementSenderLive = Layer.scoped(
  SettlementSender,
  Effect.gen(function* () {
    const chain = yield* Chain
    const sql = yield* SqlClient.SqlClient
    const { batch, batchWindow, maxBatchSize } = (yield* AppConfig).settlement

    /** Runs a send while holding the cross-instance operator lock; a database outage defers it. */
    const exclusive = <A>(send: Effect.Effect<A, SettleError>): Effect.Effect<A, SettleError> =>
      sql
        .withTransaction(Effect.zipRight(sql`SELECT pg_advisory_xact_lock(${OPERATOR_LOCK})`, Effect.zipRight(Metric.increment(settlementsSent), send)))
        .pipe(Effect.catchTag("SqlError", () => Effect.fail(new ChainUnavailable({ reason: "the operator lock could not be taken (database unreachable)" }))))

    const single = (r: SettlementRequest) => exclusive(chain.settle(r)).pipe(Effect.withSpan("SettlementSender.sendOne"))

    if (batch === "off") return SettlementSender.of({ send: single })

    type Job = readonly [SettlementRequest, Deferred.Deferred<Settlement, SettleError>]
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Job>(), Queue.shutdown)

    const sendBatch = (jobs: ReadonlyArray<Job>) =>
      Effect.gen(function* () {
        const first = jobs[0]
        if (jobs.length === 1 && first) {
          yield* Deferred.complete(first[1], single(first[0]))
          return
        }
        const result = yield* Effect.exit(exclusive(chain.settleBatch(jobs.map(([r]) => r))))
        if (Exit.isSuccess(result)) {
          yield* Effect.forEach(result.value, (outcome, i) => {
            const job = jobs[i]
            if (!job) return Effect.void
            return outcome._tag === "Settled"
              ? Deferred.succeed(job[1], outcome.settlement)
              : Deferred.fail(job[1], new SettlementRejected({ errorName: outcome.errorName, reason: "rejected in a batch" }))
          })
          return
        }
        // the whole transaction failed: unreachable chain -> every job is retried later; a revert of the
        // batch itself (paused, role missing) -> each is sent alone so each gets its own answer
        yield* Effect.forEach(jobs, ([r, d]) => Deferred.complete(d, single(r)), { discard: true })
      }).pipe(Effect.withSpan("SettlementSender.sendBatch", { attributes: { size: jobs.length } }))

    const worker = Effect.gen(function* () {
      const first = yield* Queue.take(queue)
      if (Duration.toMillis(batchWindow) > 0) yield* Effect.sleep(batchWindow)
      const rest = yield* Queue.takeUpTo(queue, maxBatchSize - 1)
      yield* sendBatch([first, ...rest])
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(worker)

    return SettlementSender.of({
      send: (request) =>
        Effect.gen(function* () {
          const deferred = yield* Deferred.make<Settlement, SettleError>()
          yield* Queue.offer(queue, [request, deferred])
          return yield* Deferred.await(deferred)
        })
    })
  })
)
