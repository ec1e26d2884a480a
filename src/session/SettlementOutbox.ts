import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { Chain, type ExpectedPayment, type Settlement, paymentMismatch } from "../domain/Chain.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { settlementDebts, settlementDebtsPaid, settlementsConfirmed, settlementsFailed } from "../metrics/Metrics.js"
import { type SettlementRecord, SessionRepo } from "./SessionRepo.js"
import { SettlementSender } from "./SettlementSender.js"
import { settlementRequestOf } from "./settlementRequest.js"

export interface ReconcileReport {
  readonly confirmed: number
  readonly failed: number
  readonly stillPending: number
  /** Debts looked at in this pass and still owed. */
  readonly debts: number
}

/**
 * The vault's refusals that mean "not now": the viewer emptied the vault or cut the allowance. Such a
 * settlement is a debt (owed, retried), not a closed case; every other revert is final (FAILED).
 */
export const DEBT_REVERTS: ReadonlyArray<string> = ["InsufficientBalance", "InsufficientAllowance"]

/** How a refused settlement ends: a debt the viewer still owes, or FAILED for good. */
export const refusalOutcome = (current: SettlementRecord["status"], errorName: string): "DEBT" | "FAILED" =>
  // once a debt, always a debt until paid: a later refusal (delisted content, a pause) never frees it
  current === "DEBT" || DEBT_REVERTS.includes(errorName) ? "DEBT" : "FAILED"

/**
 * The settlement outbox (DESIGN.md section 6) and its reconciler: finishes the settlements recorded
 * there, exactly once, by sending the operator's through the `SettlementSender`, verifying a viewer's
 * own payment, or recording what the chain already holds for the key. A transient chain failure leaves a settlement PENDING for the
 * reconciler; a refusal for lack of funds or allowance makes it a DEBT (the session UNPAID, new starts
 * refused) that the reconciler sends again, same key, once the viewer can pay; any other revert ends it
 * FAILED with the reason; the on-chain key makes a resend harmless.
 */
export class SettlementOutbox extends Context.Tag("payg/SettlementOutbox")<
  SettlementOutbox,
  {
    /** Drives one PENDING (or DEBT) settlement as far as it can go now. Never fails on chain trouble. */
    readonly finish: (s: SettlementRecord) => Effect.Effect<void, DatabaseUnavailable>
    /** The reconciler's pass: every PENDING settlement and every debt last touched more than `graceMs` ago. */
    readonly reconcile: (graceMs: number) => Effect.Effect<ReconcileReport, DatabaseUnavailable>
  }
>() {}

export const SettlementOutboxLive = Layer.effect(
  SettlementOutbox,
  Effect.gen(function* () {
    const repo = yield* SessionRepo
    const chain = yield* Chain
    const sender = yield* SettlementSender

    const confirm = (s: SettlementRecord, paid: Settlement) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        repo.confirm(
          s.sessionId,
          {
            txHash: paid.txHash,
            blockNumber: paid.blockNumber,
            gasUsed: paid.gasUsed,
            batchSize: paid.batchSize,
            fromYield: paid.fromYield,
            fromPrincipal: paid.fromPrincipal
          },
          now
        )
      ).pipe(
        Effect.tap((changed) => (changed ? Metric.increment(settlementsConfirmed) : Effect.void)),
        Effect.tap((changed) =>
          changed && s.status === "DEBT"
            ? Effect.zipRight(
                Metric.increment(settlementDebtsPaid),
                Effect.logInfo("debt settled", { sessionId: s.sessionId, user: s.userAddress, amount: s.amount.toString(), txHash: paid.txHash })
              )
            : Effect.void
        )
      )
    const fail = (s: SettlementRecord, reason: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => repo.fail(s.sessionId, reason, now)).pipe(
        Effect.tap((changed) => (changed ? Metric.increment(settlementsFailed) : Effect.void))
      )
    /** Records (or keeps) the settlement as a debt; counted and logged when it first becomes one. */
    const owe = (s: SettlementRecord, reason: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => repo.owe(s.sessionId, reason, now)).pipe(
        Effect.tap((was) =>
          Option.contains(was, "PENDING")
            ? Effect.zipRight(
                Metric.increment(settlementDebts),
                Effect.logWarning("settlement refused for lack of funds or allowance: recorded as a debt", {
                  sessionId: s.sessionId,
                  user: s.userAddress,
                  amount: s.amount.toString(),
                  reason
                })
              )
            : Effect.void
        )
      )
    const touch = (s: SettlementRecord) => Effect.flatMap(Clock.currentTimeMillis, (now) => repo.touchSettlement(s.sessionId, now))

    const expectedOf = (s: SettlementRecord): ExpectedPayment => ({
      sessionKey: s.settlementKey,
      user: s.userAddress,
      contentId: s.contentId,
      minAmount: s.amount
    })

    /** An on-chain settlement of this key counts only if it is this session's payment: the same rule as verifyPayment. */
    const adopt = (s: SettlementRecord, onChain: Settlement) =>
      Option.match(paymentMismatch(onChain, expectedOf(s)), {
        onNone: () => confirm(s, onChain),
        onSome: (why) => fail(s, `settlement key ${s.settlementKey} was already used on chain by another payment (${why})`)
      })

    const finishOperator = (s: SettlementRecord) =>
      sender.send(settlementRequestOf(s)).pipe(
        Effect.matchEffect({
          onSuccess: (paid) => confirm(s, paid),
          onFailure: (e) => {
            if (e._tag === "ChainUnavailable") return Effect.zipRight(Effect.logWarning("settlement deferred", { sessionId: s.sessionId, reason: e.reason }), touch(s))
            if (e.errorName === "AlreadySettled") {
              return chain.findSettlement(s.settlementKey).pipe(
                Effect.matchEffect({
                  onFailure: () => touch(s),
                  onSuccess: Option.match({ onNone: () => touch(s), onSome: (onChain) => adopt(s, onChain) })
                })
              )
            }
            return refusalOutcome(s.status, e.errorName) === "DEBT" ? owe(s, e.message) : fail(s, e.message)
          }
        })
      )

    const finishUser = (s: SettlementRecord) => {
      const hash = s.userTxHash
      if (hash === null || !hash.startsWith("0x")) return fail(s, "no transaction hash recorded")
      return chain
        .verifyPayment(`0x${hash.slice(2)}`, expectedOf(s))
        .pipe(
          Effect.matchEffect({
            onSuccess: (paid) => confirm(s, paid),
            onFailure: (e) => (e._tag === "ChainUnavailable" ? touch(s) : fail(s, e.message))
          })
        )
    }

    const finish = (s: SettlementRecord) =>
      (s.mode === "user" ? finishUser(s) : finishOperator(s)).pipe(
        Effect.asVoid,
        // once sent, the outcome is recorded even if the caller goes away
        Effect.uninterruptible,
        Effect.withSpan("SettlementOutbox.finish", { attributes: { sessionId: s.sessionId } })
      )

    /** Whether the viewer can pay now: the vault balance and the allowance both cover the amount. */
    const affordable = (s: SettlementRecord) =>
      Effect.map(
        Effect.all([chain.balancesOf(s.userAddress), chain.spendAllowance(s.userAddress)], { concurrency: 2 }),
        ([vault, allowance]) => vault.yieldBalance + vault.principal >= s.amount && allowance >= s.amount
      )

    /** Sends what the chain does not hold yet; a debt only once the viewer can pay (else nothing is sent). */
    const send = (s: SettlementRecord) =>
      s.status === "DEBT"
        ? affordable(s).pipe(Effect.matchEffect({ onFailure: () => Effect.void, onSuccess: (ok) => (ok ? finish(s) : touch(s)) }))
        : finish(s)

    /** What the chain already holds for the key is recorded first (also a debt's retry sent but not recorded). */
    const reconcileOne = (s: SettlementRecord) =>
      s.mode === "user"
        ? finish(s)
        : chain.findSettlement(s.settlementKey).pipe(
            Effect.matchEffect({
              onFailure: () => Effect.void,
              onSuccess: Option.match({ onNone: () => send(s), onSome: (onChain) => Effect.asVoid(adopt(s, onChain)) })
            })
          )

    const reconcile = (graceMs: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const pending = yield* repo.pendingSettlements(now - graceMs, 500)
        yield* Effect.forEach(pending, reconcileOne, { concurrency: 16, discard: true })
        const owed = yield* repo.debts(now - graceMs, 500)
        yield* Effect.forEach(owed, reconcileOne, { concurrency: 16, discard: true })
        const after = yield* Effect.forEach([...pending, ...owed], (s) => repo.find(s.sessionId))
        const statuses = after.flatMap((r) => Option.toArray(Option.flatMap(r, (x) => x.settlement))).map((x) => x.status)
        return {
          confirmed: statuses.filter((x) => x === "CONFIRMED").length,
          failed: statuses.filter((x) => x === "FAILED").length,
          stillPending: statuses.filter((x) => x === "PENDING").length,
          debts: statuses.filter((x) => x === "DEBT").length
        }
      }).pipe(Effect.withSpan("SettlementOutbox.reconcile"))

    return SettlementOutbox.of({ finish, reconcile })
  })
)
