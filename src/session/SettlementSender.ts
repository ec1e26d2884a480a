import { settlementRequestOf } from "./settlementRequest.js"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Deferred, Duration, Effect, Layer, Metric, Option, Queue, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { Chain, type Fees, type OperatorCall, type SentState } from "../domain/Chain.js"
import { ChainUnavailable, type DatabaseUnavailable, type NonceConflict } from "../domain/errors.js"
import { settlementsSent } from "../metrics/Metrics.js"
import { OperatorLedger, OperatorLedgerPg, type OperatorTx } from "./OperatorLedger.js"
import { type SettlementRecord, SessionRepo } from "./SessionRepo.js"
import { SettlementRecorder } from "./SettlementRecorder.js"

/** Fees raised for a replacement: at least +10% on both (what nodes require), at least the node's suggestion, at most the caps. */
export const bumpFees = (old: Fees, suggested: Fees, caps: { readonly maxFee: Option.Option<bigint>; readonly maxPriority: Option.Option<bigint> }): Option.Option<Fees> => {
  const tenPercentMore = (x: bigint) => (x * 11n + 9n) / 10n
  const cap = (x: bigint, c: Option.Option<bigint>) => Option.match(c, { onNone: () => x, onSome: (limit) => (x < limit ? x : limit) })
  const max = (a: bigint, b: bigint) => (a > b ? a : b)
  const fee = cap(max(tenPercentMore(old.maxFeePerGas), suggested.maxFeePerGas), caps.maxFee)
  const wanted = cap(max(tenPercentMore(old.maxPriorityFeePerGas), suggested.maxPriorityFeePerGas), caps.maxPriority)
  const priority = wanted > fee ? fee : wanted
  // a cap below the required bump: the node would refuse the replacement, so none is sent
  if (priority < tenPercentMore(old.maxPriorityFeePerGas) || fee < tenPercentMore(old.maxFeePerGas)) return Option.none()
  return Option.some({ maxFeePerGas: fee, maxPriorityFeePerGas: priority })
}

/** The node's suggestion within the caps (a priority fee never above the fee cap). */
export const cappedFees = (suggested: Fees, caps: { readonly maxFee: Option.Option<bigint>; readonly maxPriority: Option.Option<bigint> }): Fees => {
  const cap = (x: bigint, c: Option.Option<bigint>) => Option.match(c, { onNone: () => x, onSome: (limit) => (x < limit ? x : limit) })
  const fee = cap(suggested.maxFeePerGas, caps.maxFee)
  const priority = cap(suggested.maxPriorityFeePerGas, caps.maxPriority)
  return { maxFeePerGas: fee, maxPriorityFeePerGas: priority > fee ? fee : priority }
}

/**
 * Sends the operator's settlements to the chain and follows each transaction until it is final,
 * recording every outcome through the `SettlementRecorder` (docs/RELIABILITY.md, "The operator's
 * transactions"). Settlements gather into one `settleBatch` per block (or per SETTLEMENT_INTERVAL);
 * the next batch is sent without waiting for the previous one's confirmations. Nonces are given out
 * from the ledger in PostgreSQL (`OperatorLedger`) under an advisory lock, so a restart or a second
 * instance continues the sequence. A transaction not mined after REPLACE_AFTER_BLOCKS is replaced
 * (same nonce, fees +10% or more, within the caps), a dropped one is sent again, and a receipt counts
 * only with CONFIRMATIONS blocks on the canonical chain (a reorganised one is followed again).
 */
export class SettlementSender extends Context.Tag("payg/SettlementSender")<
  SettlementSender,
  {
    /**
     * Hands the settlement over: returns once its transaction is sent and looked at once (on a chain
     * that mines at once its outcome is then recorded already), or once a failed send is scheduled for a retry.
     */
    readonly submit: (s: SettlementRecord) => Effect.Effect<void>
    /** Whether a transaction in flight carries this settlement (the reconciler leaves it alone). */
    readonly carries: (sessionId: string) => Effect.Effect<boolean, DatabaseUnavailable>
  }
>() {}

/** Arbitrary, fixed: the advisory lock id that serialises operator sends across instances. */
const OPERATOR_LOCK = 7_420_001
/** An open transaction untouched for longer belongs to a dead instance: the reconciler takes its settlements back. */
const ORPHANED_AFTER_MS = 10 * 60_000

interface Job {
  readonly record: SettlementRecord
  /** Completed (true) once the job is handed over. */
  readonly handedOver: Deferred.Deferred<boolean>
}

/** A transaction being followed: its ledger entry, the outbox rows it carries, and what was last seen. */
interface InFlight {
  readonly tx: OperatorTx
  readonly records: ReadonlyArray<SettlementRecord>
  readonly seen: SentState["_tag"]
}

const SenderLive = Layer.scoped(
  SettlementSender,
  Effect.gen(function* () {
    const chain = yield* Chain
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* OperatorLedger
    const recorder = yield* SettlementRecorder
    const repo = yield* SessionRepo
    const settings = (yield* AppConfig).settlement
    const maxBatch = settings.batch === "off" ? 1 : settings.maxBatchSize
    const caps = { maxFee: settings.maxFeePerGas, maxPriority: settings.maxPriorityFeePerGas }
    const poll = settings.pollInterval
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Job>(), Queue.shutdown)
    const scope = yield* Effect.scope

    /** Runs `send` holding the cross-instance operator lock, in one database transaction; a database outage defers it. */
    const exclusive = <A, E>(send: Effect.Effect<A, E>) =>
      sql
        .withTransaction(Effect.zipRight(sql`SELECT pg_advisory_xact_lock(${OPERATOR_LOCK})`, send))
        .pipe(Effect.catchTag("SqlError", () => Effect.fail(new ChainUnavailable({ reason: "the operator lock could not be taken (database unreachable)" }))))

    /** Gives out the next nonce and sends under it; the ledger row and the settlements' hash commit with the lock. */
    const sendNew = (call: OperatorCall, records: ReadonlyArray<SettlementRecord>) =>
      Effect.gen(function* () {
        const fees = cappedFees(yield* chain.suggestFees, caps)
        return yield* exclusive(
          Effect.gen(function* () {
            const [fromLedger, fromNode, top] = yield* Effect.all([ledger.nextNonce, chain.pendingNonce, chain.head], { concurrency: "unbounded" })
            const nonce = Math.max(fromLedger, fromNode)
            const hash = yield* chain.broadcast(call, nonce, fees)
            const tx: OperatorTx = { nonce, state: "SENT", hashes: [hash], call, fees, sessionIds: records.map((r) => r.sessionId), sentBlock: top }
            yield* Effect.flatMap(Clock.currentTimeMillis, (now) => ledger.record(tx, now))
            return tx
          })
        )
      }).pipe(
        // another sender took the nonce first (a transaction this ledger does not know): ask again
        Effect.retry({ while: (e: ChainUnavailable | NonceConflict | DatabaseUnavailable) => e._tag === "NonceConflict", times: 5 }),
        Effect.tap(() => Metric.increment(settlementsSent)),
        Effect.withSpan("SettlementSender.sendNew", { attributes: { size: records.length } })
      )

    const now = Clock.currentTimeMillis

    /** Records what a final transaction did for each settlement it carried. */
    const recordFinal = (f: InFlight, state: Extract<SentState, { _tag: "Mined" }>) =>
      Effect.gen(function* () {
        const requests = f.records.map(settlementRequestOf)
        if (Option.isNone(state.outcomes)) {
          const why = yield* chain.explainBatch(requests).pipe(Effect.orElseSucceed(() => "TransactionReverted"))
          yield* Effect.forEach(f.records, (s) => recorder.refused(s, why, `transaction ${state.txHash} reverted`), { discard: true })
        } else {
          const outcomes = state.outcomes.value
          yield* Effect.forEach(
            f.records,
            (s, i) => {
              const outcome = outcomes[i]
              if (outcome === undefined) return recorder.touch(s)
              return outcome._tag === "Settled" ? Effect.asVoid(recorder.confirm(s, outcome.settlement)) : recorder.refused(s, outcome.errorName, "rejected in a batch")
            },
            { discard: true }
          )
        }
        yield* ledger.setState(f.tx.nonce, "CONFIRMED", state.blockNumber, yield* now)
      })

    /** Sends the transaction again under its nonce, with `fees`; a refused nonce is left for the next look. */
    const resend = (f: InFlight, fees: Fees) =>
      Effect.gen(function* () {
        const top = yield* chain.head
        const hash = yield* chain.broadcast(f.tx.call, f.tx.nonce, fees)
        yield* ledger.resent(f.tx.nonce, hash, fees, top, yield* now)
        const hashes = f.tx.hashes.includes(hash) ? f.tx.hashes : [...f.tx.hashes, hash]
        return { ...f, tx: { ...f.tx, hashes, fees, sentBlock: top } }
      })

    /** The nonce went to a transaction that is none of ours: the settlements it carried go out again. */
    const superseded = (f: InFlight) =>
      Effect.gen(function* () {
        yield* ledger.setState(f.tx.nonce, "SUPERSEDED", null, yield* now)
        yield* Effect.logWarning("an operator nonce was used by another transaction: its settlements are sent again", { nonce: f.tx.nonce })
        const fresh = yield* Effect.forEach(f.records, (s) => repo.find(s.sessionId))
        const open = fresh.flatMap((r) => Option.toArray(Option.flatMap(r, (x) => x.settlement))).filter((s) => s.status === "PENDING" || s.status === "DEBT")
        yield* Effect.forEach(open, (s) => Effect.flatMap(Deferred.make<boolean>(), (d) => Queue.offer(queue, { record: s, handedOver: d })), { discard: true })
      })

    /**
     * One look at a transaction in flight: final -> recorded (true: done); mined -> noted; pending for
     * REPLACE_AFTER_BLOCKS -> replaced; unknown to the node (dropped, reorganised away) -> sent again.
     */
    const step = (f: InFlight): Effect.Effect<readonly [boolean, InFlight], ChainUnavailable | DatabaseUnavailable> =>
      Effect.gen(function* () {
        const state = yield* chain.sentState(f.tx.hashes, f.records.map(settlementRequestOf))
        const next = { ...f, seen: state._tag }
        if (state._tag === "Mined") {
          if (state.confirmations >= chain.confirmations) {
            yield* recordFinal(f, state)
            return [true, next] as const
          }
          if (f.seen !== "Mined") yield* ledger.setState(f.tx.nonce, "MINED", state.blockNumber, yield* now)
          return [false, next] as const
        }
        if (f.seen === "Mined") {
          yield* Effect.logWarning("a settlement transaction's block was reorganised away: it is followed again", { nonce: f.tx.nonce })
          yield* ledger.setState(f.tx.nonce, "SENT", null, yield* now)
        }
        if (state._tag === "Unknown") {
          const again = yield* resend(next, f.tx.fees).pipe(
            Effect.catchTag("NonceConflict", () =>
              // nonce used, none of our hashes mined: unless one of ours shows up meanwhile, it went to another transaction
              Effect.flatMap(chain.sentState(f.tx.hashes, f.records.map(settlementRequestOf)), (s) =>
                s._tag === "Unknown" ? Effect.as(superseded(f), undefined) : Effect.succeed(next)
              )
            )
          )
          return again === undefined ? ([true, next] as const) : ([false, again] as const)
        }
        const top = yield* chain.head
        if (top - f.tx.sentBlock < BigInt(settings.replaceAfterBlocks)) return [false, next] as const
        const bumped = bumpFees(f.tx.fees, yield* chain.suggestFees, caps)
        if (Option.isNone(bumped)) return [false, next] as const
        const replaced = yield* resend(next, bumped.value).pipe(Effect.catchTag("NonceConflict", () => Effect.succeed(next)))
        if (replaced !== next) yield* Effect.logInfo("settlement transaction replaced with higher fees", { nonce: f.tx.nonce, maxFeePerGas: bumped.value.maxFeePerGas.toString() })
        return [false, replaced] as const
      })

    /** Follows a transaction until it is final; `looked` is told after the first look. */
    const follow = (first: InFlight, looked: Effect.Effect<void>) =>
      Effect.gen(function* () {
        let f = first
        let done = false
        let told = false
        while (!done) {
          const r = yield* Effect.either(step(f))
          if (r._tag === "Right") [done, f] = r.right
          if (!told) {
            told = true
            yield* looked
          }
          if (!done) yield* Effect.sleep(poll)
        }
      }).pipe(Effect.ensuring(looked), Effect.withSpan("SettlementSender.follow", { attributes: { nonce: first.tx.nonce } }))

    /** Sends one batch, retrying a failed send with backoff for a few seconds; the jobs are handed over at the first failure. */
    const sendBatch = (jobs: ReadonlyArray<Job>) =>
      Effect.gen(function* () {
        const records = jobs.map((j) => j.record)
        const call = chain.prepareSettleBatch(records.map(settlementRequestOf))
        const handOver = Effect.forEach(jobs, (j) => Deferred.succeed(j.handedOver, true), { discard: true })
        const sent = yield* sendNew(call, records).pipe(
          Effect.tapError((e) => Effect.zipRight(Effect.logWarning("settlement send failed; retrying", { reason: e.message }), handOver)),
          Effect.retry(Schedule.exponential(Duration.millis(250), 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(6)))),
          Effect.either
        )
        if (sent._tag === "Left") {
          yield* Effect.logWarning("settlement deferred to the reconciler", { reason: sent.left.message, settlements: records.length })
          yield* Effect.forEach(records, (s) => Effect.ignore(recorder.touch(s)), { discard: true })
          return
        }
        yield* Effect.forkIn(follow({ tx: sent.right, records, seen: "Pending" }, handOver), scope)
      })

    /** The head after which the next batch may go: one transaction per block, or per SETTLEMENT_INTERVAL. */
    let lastSent: { readonly at: number; readonly head: bigint } | undefined
    const pace = Effect.gen(function* () {
      const last = lastSent
      if (last === undefined) return
      if (Option.isSome(settings.interval)) {
        const wait = last.at + Duration.toMillis(settings.interval.value) - (yield* now)
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        return
      }
      yield* chain.head.pipe(
        Effect.flatMap((h) => (h > last.head ? Effect.void : Effect.fail(new ChainUnavailable({ reason: "no new block yet" })))),
        Effect.retry(Schedule.spaced(poll).pipe(Schedule.upTo(Duration.seconds(60)))),
        Effect.ignore
      )
    })

    const worker = Effect.gen(function* () {
      const first = yield* Queue.take(queue)
      yield* pace
      // SETTLEMENT_BATCH_WINDOW: a moment for the stops arriving together to join the same transaction
      if (Duration.toMillis(settings.batchWindow) > 0) yield* Effect.sleep(settings.batchWindow)
      const rest = yield* Queue.takeUpTo(queue, maxBatch - 1)
      const jobs = [first, ...rest]
      const head = yield* Effect.orElseSucceed(chain.head, () => 0n)
      yield* sendBatch(jobs)
      lastSent = { at: yield* now, head }
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(worker)

    // transactions a previous run (or a dead instance) sent are followed again: nonces are never left unused
    const resume = Effect.gen(function* () {
      const open = yield* ledger.open
      for (const tx of open) {
        const found = yield* Effect.forEach(tx.sessionIds, (id) => repo.find(id))
        const records = found.flatMap((r) => Option.toArray(Option.flatMap(r, (x) => x.settlement)))
        yield* Effect.forkIn(follow({ tx, records, seen: tx.state === "MINED" ? "Mined" : "Pending" }, Effect.void), scope)
      }
      if (open.length > 0) yield* Effect.logInfo("following the operator's transactions of an earlier run", { transactions: open.length })
    })
    yield* Effect.forkScoped(Effect.catchAll(resume, (e) => Effect.logWarning("could not resume the operator's transactions", { reason: e.message })))

    return SettlementSender.of({
      submit: (record) =>
        Effect.gen(function* () {
          const handedOver = yield* Deferred.make<boolean>()
          yield* Queue.offer(queue, { record, handedOver })
          yield* Deferred.await(handedOver)
        }),
      carries: (sessionId) => Effect.flatMap(now, (t) => ledger.carries(sessionId, t - ORPHANED_AFTER_MS))
    })
  })
)

/** The sender over the ledger of this chain's operator. */
export const SettlementSenderLive = Layer.unwrapEffect(
  Effect.map(Chain, (chain) => SenderLive.pipe(Layer.provide(OperatorLedgerPg(chain.binding.chainId, chain.operator))))
)
