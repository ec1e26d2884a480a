import { settlementRequestOf } from "./settlementRequest.js"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Deferred, Duration, Effect, Layer, Metric, Option, Queue, Schedule } from "effect"
import { ChainView, type HeadSeen } from "../chain/ChainView.js"
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

/** Heads kept to learn the chain's pace from. */
const HEADS_KEPT = 16
/** Heads in a row at a steady pace before it counts as known. */
const MIN_STEADY_HEADS = 6
/** The latest heads the phase is taken from. */
const PHASE_HEADS = 4

/** The chain's pace as learnt from the heads the view saw: when a block is expected, and the time per block. */
export interface Pace {
  /** Wall-clock milliseconds per block. */
  readonly interval: number
  /** The wall-clock millisecond block `block` is expected at (when the view would first see it, at the earliest). */
  readonly expectedAt: (block: bigint) => number
}

/**
 * The pace of the heads seen, or None where it is not steady: fewer than MIN_STEADY_HEADS in a row at
 * about the view's interval (the first blocks, a node that mines each transaction as it comes, a halt,
 * a jump of the clock). The time per block is the average over that run (the view looks at the head
 * every poll, so one head's arrival is late by up to a poll; the average is not). The phase comes from
 * the earliest-seen of the run's last PHASE_HEADS heads: each is seen late by some part of a poll, the
 * least late is the closest to the block's own time.
 */
export const paceOf = (heads: ReadonlyArray<HeadSeen>, viewInterval: Option.Option<number>): Option.Option<Pace> => {
  if (Option.isNone(viewInterval) || viewInterval.value <= 0) return Option.none()
  const ref = viewInterval.value
  const perBlock = (a: HeadSeen, b: HeadSeen) => (b.at - a.at) / Number(b.block - a.block)
  let start = heads.length - 1
  while (start > 0) {
    const a = heads[start - 1]
    const b = heads[start]
    if (a === undefined || b === undefined || b.block <= a.block) break
    const step = perBlock(a, b)
    if (step < ref / 3 || step > ref * 3) break
    start -= 1
  }
  const run = heads.slice(start)
  const first = run[0]
  const last = run[run.length - 1]
  if (run.length < MIN_STEADY_HEADS || first === undefined || last === undefined) return Option.none()
  const interval = perBlock(first, last)
  if (!(interval >= ref / 2 && interval <= ref * 2)) return Option.none()
  // the latest few only: an error in the time per block grows with the distance to the last head
  const earliest = run.slice(-PHASE_HEADS).reduce((lead, h) => Math.min(lead, h.at - (last.at + Number(h.block - last.block) * interval)), 0)
  const phase = last.at + Math.max(earliest, -interval / 2)
  return Option.some({ interval, expectedAt: (block) => phase + Number(block - last.block) * interval })
}

/**
 * How long before a block's expected time a transaction meant for it is sent: the slowest of the last
 * sends (from the moment they were due to the node's acceptance: waking up, the lock, signing, the
 * request) and a quarter more, plus a fifth of a block (a head is seen late by part of the view's poll,
 * so a block's expected time is a little late too); half a block before any; at least 30 ms, at most
 * three quarters of a block. Too early costs a stop one block; too late, a block with two.
 */
export const sendMargin = (recentSends: ReadonlyArray<number>, interval: number): number => {
  const wanted = recentSends.length === 0 ? interval / 2 : 1.25 * Math.max(...recentSends) + interval / 5
  return Math.min(Math.max(wanted, 30), (interval * 3) / 4)
}

/**
 * Sends the operator's settlements to the chain and follows each transaction until it is final,
 * recording every outcome through the `SettlementRecorder` (docs/RELIABILITY.md, "The operator's
 * transactions"). On a chain whose blocks come at a steady pace (learnt from the chain view's heads)
 * the stops of one block's interval gather until shortly before the next block is due and go out in
 * one `settleBatch` meant for it; at most one transaction per block. Elsewhere (the in-process chain,
 * a node that mines at once, the first blocks) a batch goes as soon as a new block has come, or per
 * SETTLEMENT_INTERVAL when set. The next batch is sent without waiting for the previous one's
 * confirmations. Nonces are given out from the ledger in PostgreSQL (`OperatorLedger`) under an
 * advisory lock, so a restart or a second instance continues the sequence. A transaction in flight is
 * looked at on each new head; one not mined after REPLACE_AFTER_BLOCKS is replaced (same nonce, fees
 * +10% or more, within the caps), a dropped one is sent again, and a receipt counts only with
 * CONFIRMATIONS blocks on the canonical chain (a reorganised one is followed again).
 */
export class SettlementSender extends Context.Tag("payg/SettlementSender")<
  SettlementSender,
  {
    /**
     * Hands the settlement over: returns once its transaction is sent (where the chain's pace is not
     * known, also looked at once: on a chain that mines at once its outcome is then recorded already),
     * or once a failed send is scheduled for a retry.
     */
    readonly submit: (s: SettlementRecord) => Effect.Effect<void>
    /** Whether a transaction in flight carries this settlement (the reconciler leaves it alone). */
    readonly carries: (sessionId: string) => Effect.Effect<boolean, DatabaseUnavailable>
  }
>() {}

/** Outcomes of one final transaction recorded at once. */
const RECORD_CONCURRENCY = 4
/** Arbitrary, fixed: the advisory lock id that serialises operator sends across instances. */
const OPERATOR_LOCK = 7_420_001
/** An open transaction untouched for longer belongs to a dead instance: the reconciler takes its settlements back. */
const ORPHANED_AFTER_MS = 10 * 60_000
/** A batch waits at most this long for a new block after the previous one (a stalled chain, a view that cannot look). */
const NEXT_BLOCK_MAX_WAIT = Duration.seconds(60)
/** Send durations kept for the margin. */
const SENDS_KEPT = 5

interface Job {
  readonly record: SettlementRecord
  /** Completed (true) once the job is handed over. */
  readonly handedOver: Deferred.Deferred<boolean>
}

/** A transaction being followed: its ledger entry, the outbox rows it carries, what was last seen, and the block it was last seen mined in. */
interface InFlight {
  readonly tx: OperatorTx
  readonly records: ReadonlyArray<SettlementRecord>
  readonly seen: SentState["_tag"]
  readonly minedIn: Option.Option<bigint>
}

/** The last batch sent: when, under which head, the block it was meant for (where the pace is known), and when the node accepted it. */
interface LastSent {
  readonly at: number
  readonly head: bigint
  readonly target: Option.Option<bigint>
  readonly accepted: number
}

const SenderLive = Layer.scoped(
  SettlementSender,
  Effect.gen(function* () {
    const chain = yield* Chain
    const view = yield* ChainView
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* OperatorLedger
    const recorder = yield* SettlementRecorder
    const repo = yield* SessionRepo
    const settings = (yield* AppConfig).settlement
    const maxBatch = settings.batch === "off" ? 1 : settings.maxBatchSize
    const caps = { maxFee: settings.maxFeePerGas, maxPriority: settings.maxPriorityFeePerGas }
    const poll = settings.pollInterval
    const rpc = chain.binding.kind === "rpc"
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Job>(), Queue.shutdown)
    const scope = yield* Effect.scope
    const now = Clock.currentTimeMillis

    /** The heads the view saw, oldest first (on an RPC chain; the in-process one mines at once and has no pace). */
    let heads: ReadonlyArray<HeadSeen> = []
    if (rpc) {
      const watch = Effect.gen(function* () {
        const last = heads[heads.length - 1]
        const seen = yield* view.headAbove(last === undefined ? -1n : last.block)
        heads = [...heads, seen].slice(-HEADS_KEPT)
      }).pipe(Effect.catchAll(() => Effect.sleep(poll)), Effect.forever)
      yield* Effect.forkScoped(watch)
    }
    const pace: Effect.Effect<Option.Option<Pace>> = rpc
      ? Effect.gen(function* () {
          const p = paceOf(heads, yield* view.blockInterval)
          const last = heads[heads.length - 1]
          const t = yield* now
          // no head for more than two blocks and a half (a halted chain, a view that cannot look): the pace is not known now
          return Option.filter(p, (x) => last !== undefined && t - last.at <= 2.5 * x.interval)
        })
      : Effect.succeed(Option.none())

    /** The newest head: the view's (no request), or the chain's where the view has none to tell. */
    const headNow: Effect.Effect<bigint, ChainUnavailable> = rpc
      ? Effect.flatMap(view.lastHead, Option.match({ onNone: () => chain.head, onSome: (h) => Effect.succeed(h.block) }))
      : chain.head

    /** The view's next head above `block`, or None after `within` without one (or when the view cannot look). */
    const headAbove = (block: bigint, within: Duration.Duration) =>
      view.headAbove(block).pipe(
        Effect.timeoutTo({ duration: within, onSuccess: Option.some<HeadSeen>, onTimeout: Option.none<HeadSeen> }),
        Effect.orElseSucceed(Option.none<HeadSeen>)
      )

    /**
     * The node's fee suggestion, asked at most once per head: callers share the request, a failed one
     * is asked again, and for a first send one a block old still serves (the base fee moves by an eighth
     * at most per block, within the headroom viem's suggestion keeps above it; a replacement asks at its head).
     */
    let fees: { readonly head: bigint; readonly fees: Effect.Effect<Fees, ChainUnavailable> } | undefined
    const suggestedAt = (head: bigint, blockOld: boolean): Effect.Effect<Fees, ChainUnavailable> =>
      Effect.suspend(() => {
        if (fees !== undefined && head >= fees.head && head - fees.head <= (blockOld ? 1n : 0n)) return fees.fees
        return Effect.flatMap(Effect.cached(chain.suggestFees), (once) => {
          const entry = {
            head,
            fees: Effect.tapError(once, () =>
              Effect.sync(() => {
                if (fees === entry) fees = undefined
              })
            )
          }
          fees = entry
          return entry.fees
        })
      })

    /** Runs `send` holding the cross-instance operator lock, in one database transaction; a database outage defers it. */
    const exclusive = <A, E>(send: Effect.Effect<A, E>) =>
      sql
        .withTransaction(Effect.zipRight(sql`SELECT pg_advisory_xact_lock(${OPERATOR_LOCK})`, send))
        .pipe(Effect.catchTag("SqlError", () => Effect.fail(new ChainUnavailable({ reason: "the operator lock could not be taken (database unreachable)" }))))

    /**
     * Whether the node's pending nonce is asked too: for the first send of this process (a transaction
     * sent and not recorded before a crash holds the ledger's next nonce) and after a refused nonce.
     */
    let askNode = true

    /** Gives out the next nonce and sends under it; the ledger row and the settlements' hash commit with the lock. */
    const sendNew = (call: OperatorCall, records: ReadonlyArray<SettlementRecord>, head: bigint) =>
      Effect.gen(function* () {
        const fee = cappedFees(yield* suggestedAt(head, true), caps)
        return yield* exclusive(
          Effect.gen(function* () {
            const fromLedger = yield* ledger.nextNonce
            const nonce =
              Option.isSome(fromLedger) && !askNode ? fromLedger.value : Math.max(Option.getOrElse(fromLedger, () => 0), yield* chain.pendingNonce)
            const hash = yield* chain.broadcast(call, nonce, fee)
            const accepted = yield* now
            const tx: OperatorTx = { nonce, state: "SENT", hashes: [hash], call, fees: fee, sessionIds: records.map((r) => r.sessionId), sentBlock: head }
            yield* ledger.record(tx, accepted)
            return { tx, accepted }
          })
        )
      }).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            askNode = false
          })
        ),
        Effect.tapErrorTag("NonceConflict", () =>
          Effect.sync(() => {
            askNode = true
          })
        ),
        // another sender took the nonce first (a transaction this ledger does not know): ask again
        Effect.retry({ while: (e: ChainUnavailable | NonceConflict | DatabaseUnavailable) => e._tag === "NonceConflict", times: 5 }),
        Effect.tap(() => Metric.increment(settlementsSent)),
        Effect.withSpan("SettlementSender.sendNew", { attributes: { size: records.length } })
      )

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
            // each outcome is one guarded statement on its own session: a full batch is recorded a few at a
            // time rather than one after another (leaving the pool's other connections to the requests)
            { concurrency: RECORD_CONCURRENCY, discard: true }
          )
        }
        yield* ledger.setState(f.tx.nonce, "CONFIRMED", state.blockNumber, yield* now)
      })

    /** Sends the transaction again under its nonce, with `fees`, at head `top`; a refused nonce is left for the next look. */
    const resend = (f: InFlight, fees: Fees, top: bigint) =>
      Effect.gen(function* () {
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
     * One look at a transaction in flight, at head `top`: final -> recorded (true: done); mined -> noted;
     * pending for REPLACE_AFTER_BLOCKS -> replaced; unknown to the node (dropped, reorganised away) -> sent again.
     */
    const step = (f: InFlight, top: bigint): Effect.Effect<readonly [boolean, InFlight], ChainUnavailable | DatabaseUnavailable> =>
      Effect.gen(function* () {
        const state = yield* chain.sentState(f.tx.hashes, f.records.map(settlementRequestOf))
        if (state._tag === "Mined") {
          const next = { ...f, seen: state._tag, minedIn: Option.some(state.blockNumber) }
          if (state.confirmations >= chain.confirmations) {
            yield* recordFinal(f, state)
            return [true, next] as const
          }
          if (f.seen !== "Mined" || Option.getOrUndefined(f.minedIn) !== state.blockNumber) {
            yield* ledger.setState(f.tx.nonce, "MINED", state.blockNumber, yield* now)
          }
          return [false, next] as const
        }
        const next = { ...f, seen: state._tag, minedIn: Option.none<bigint>() }
        if (f.seen === "Mined") {
          yield* Effect.logWarning("a settlement transaction's block was reorganised away: it is followed again", { nonce: f.tx.nonce })
          yield* ledger.setState(f.tx.nonce, "SENT", null, yield* now)
        }
        if (state._tag === "Unknown") {
          const again = yield* resend(next, f.tx.fees, top).pipe(
            Effect.catchTag("NonceConflict", () =>
              // nonce used, none of our hashes mined: unless one of ours shows up meanwhile, it went to another transaction
              Effect.flatMap(chain.sentState(f.tx.hashes, f.records.map(settlementRequestOf)), (s) =>
                s._tag === "Unknown" ? Effect.as(superseded(f), undefined) : Effect.succeed(next)
              )
            )
          )
          return again === undefined ? ([true, next] as const) : ([false, again] as const)
        }
        if (top - f.tx.sentBlock < BigInt(settings.replaceAfterBlocks)) return [false, next] as const
        const bumped = bumpFees(f.tx.fees, yield* suggestedAt(top, false), caps)
        if (Option.isNone(bumped)) return [false, next] as const
        const replaced = yield* resend(next, bumped.value, top).pipe(Effect.catchTag("NonceConflict", () => Effect.succeed(next)))
        if (replaced !== next) yield* Effect.logInfo("settlement transaction replaced with higher fees", { nonce: f.tx.nonce, maxFeePerGas: bumped.value.maxFeePerGas.toString() })
        return [false, replaced] as const
      })

    /**
     * Follows a transaction until it is final, looking at it on each new head (after SETTLEMENT_POLL_INTERVAL,
     * or two blocks where the pace is known, without one: a halted chain, a dropped transaction). A mined
     * one is not looked at again before the head could make it final. `lookFirst`: the first look is at
     * once, and `looked` is told after it (else at once).
     */
    const follow = (first: InFlight, looked: Effect.Effect<void>, lookFirst: boolean) =>
      Effect.gen(function* () {
        let f = first
        let done = false
        let top = first.tx.sentBlock
        if (!lookFirst) yield* looked
        let pending = lookFirst
        while (!done) {
          if (!pending) {
            const p = yield* pace
            const within = Option.match(p, { onNone: () => poll, onSome: (x) => Duration.max(poll, Duration.millis(2 * x.interval)) })
            const next = yield* headAbove(top, within)
            if (Option.isSome(next)) top = next.value.block
            // mined, short of its confirmations: nothing to learn before the head that makes it final
            const finalAt = Option.map(f.minedIn, (b) => b + BigInt(chain.confirmations - 1))
            if (Option.isSome(next) && Option.isSome(finalAt) && top < finalAt.value) continue
          }
          const r = yield* Effect.either(step(f, top))
          if (r._tag === "Right") [done, f] = r.right
          if (pending) {
            pending = false
            yield* looked
          }
        }
      }).pipe(
        Effect.ensuring(looked),
        Effect.withSpan("SettlementSender.follow", { attributes: { nonce: first.tx.nonce } })
      )

    /** How long the last sends took from their moment (the cut, or the start) to the node's acceptance, for the margin before a block. */
    let sendTimes: ReadonlyArray<number> = []

    /**
     * Sends one batch at head `head`, retrying a failed send with backoff for a few seconds; the jobs are
     * handed over at the first failure. `cut`: the moment it was due at, when it was timed for a block.
     * Some: when the node accepted it.
     */
    const sendBatch = (jobs: ReadonlyArray<Job>, head: bigint, cut: Option.Option<number>) =>
      Effect.gen(function* () {
        const records = jobs.map((j) => j.record)
        const call = chain.prepareSettleBatch(records.map(settlementRequestOf))
        const handOver = Effect.forEach(jobs, (j) => Deferred.succeed(j.handedOver, true), { discard: true })
        const start = Option.isSome(cut) ? cut.value : yield* now
        const sent = yield* sendNew(call, records, head).pipe(
          Effect.tapError((e) => Effect.zipRight(Effect.logWarning("settlement send failed; retrying", { reason: e.message }), handOver)),
          Effect.retry(Schedule.exponential(Duration.millis(250), 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(6)))),
          Effect.either
        )
        if (sent._tag === "Left") {
          yield* Effect.logWarning("settlement deferred to the reconciler", { reason: sent.left.message, settlements: records.length })
          yield* Effect.forEach(records, (s) => Effect.ignore(recorder.touch(s)), { discard: true })
          return Option.none<number>()
        }
        sendTimes = [...sendTimes, sent.right.accepted - start].slice(-SENDS_KEPT)
        yield* Effect.forkIn(follow({ tx: sent.right.tx, records, seen: "Pending", minedIn: Option.none() }, handOver, Option.isNone(cut)), scope)
        return Option.some(sent.right.accepted)
      })

    /**
     * Where the chain's pace is known: the block the next batch is meant for and the moment it goes (that
     * block's expected time less the margin of one send). The first block whose moment is still ahead,
     * and never one the previous batch was meant for: after a batch sent too late for its block (the
     * node accepted it after the block was due), not the one after either, which that batch takes.
     */
    const timed = (p: Pace, last: LastSent | undefined) =>
      Effect.gen(function* () {
        const margin = sendMargin(sendTimes, p.interval)
        const t = yield* now
        const seen = yield* view.lastHead
        let target = Option.match(seen, { onNone: () => 0n, onSome: (h) => h.block + 1n })
        if (last !== undefined) {
          const after = Option.match(last.target, {
            // sent as soon as a block came: it is meant for the next one
            onNone: () => last.head + 2n,
            onSome: (b) => b + (last.accepted > p.expectedAt(b) - p.interval / 10 ? 2n : 1n)
          })
          if (after > target) target = after
        }
        // bounded: a moment is ahead within a few blocks of the newest head
        for (let i = 0; i < 1_000 && p.expectedAt(target) - margin <= t; i++) target += 1n
        const cut = p.expectedAt(target) - margin
        yield* Effect.sleep(Duration.millis(Math.max(0, cut - t)))
        return { target, cut }
      })

    /**
     * Waits until the next batch may go: where the chain's pace is known, timed for a block (`timed`);
     * else once a head above the one the previous batch was sent under has come, or per SETTLEMENT_INTERVAL.
     */
    let lastSent: LastSent | undefined
    const due = Effect.gen(function* () {
      const last = lastSent
      if (Option.isSome(settings.interval)) {
        if (last !== undefined) {
          const wait = last.at + Duration.toMillis(settings.interval.value) - (yield* now)
          if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        }
        return Option.none<{ readonly target: bigint; readonly cut: number }>()
      }
      const known = yield* pace
      if (Option.isSome(known)) {
        const head = yield* view.lastHead
        // the fees of this head are asked while the stops gather
        if (Option.isSome(head)) yield* Effect.forkIn(Effect.ignore(suggestedAt(head.value.block, true)), scope)
        return Option.some(yield* timed(known.value, last))
      }
      if (last !== undefined) yield* headAbove(last.head, NEXT_BLOCK_MAX_WAIT)
      return Option.none<{ readonly target: bigint; readonly cut: number }>()
    })

    const worker = Effect.gen(function* () {
      const first = yield* Queue.take(queue)
      const plan = yield* due
      // SETTLEMENT_BATCH_WINDOW: where the pace is not known, a moment for the stops arriving together to join the same transaction
      if (Option.isNone(plan) && Duration.toMillis(settings.batchWindow) > 0) yield* Effect.sleep(settings.batchWindow)
      const rest = yield* Queue.takeUpTo(queue, maxBatch - 1)
      const head = yield* Effect.orElseSucceed(headNow, () => 0n)
      const accepted = yield* sendBatch([first, ...rest], head, Option.map(plan, (x) => x.cut))
      if (Option.isSome(accepted)) lastSent = { at: yield* now, head, target: Option.map(plan, (x) => x.target), accepted: accepted.value }
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(worker)

    // transactions a previous run (or a dead instance) sent are followed again: nonces are never left unused
    const resume = Effect.gen(function* () {
      const open = yield* ledger.open
      for (const tx of open) {
        const found = yield* Effect.forEach(tx.sessionIds, (id) => repo.find(id))
        const records = found.flatMap((r) => Option.toArray(Option.flatMap(r, (x) => x.settlement)))
        yield* Effect.forkIn(follow({ tx, records, seen: tx.state === "MINED" ? "Mined" : "Pending", minedIn: Option.none() }, Effect.void, true), scope)
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
