import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { Chain, type ExpectedPayment, type Settlement, paymentMismatch } from "../domain/Chain.js"
import { type DatabaseUnavailable, SettlementRejected } from "../domain/errors.js"
import { settlementDebts, settlementDebtsPaid, settlementsConfirmed, settlementsFailed } from "../metrics/Metrics.js"
import { type SettlementRecord, type SettlementStatus, SessionRepo } from "./SessionRepo.js"

/**
 * The vault's refusals that mean "not now": the viewer emptied the vault or cut the allowance. Such a
 * settlement is a debt (owed, retried), not a closed case; every other revert is final (FAILED).
 */
export const DEBT_REVERTS: ReadonlyArray<string> = ["InsufficientBalance", "InsufficientAllowance"]

/** How a refused settlement ends: a debt the viewer still owes, or FAILED for good. */
export const refusalOutcome = (current: SettlementStatus, errorName: string): "DEBT" | "FAILED" =>
  // once a debt, always a debt until paid: a later refusal (delisted content, a pause) never frees it
  current === "DEBT" || DEBT_REVERTS.includes(errorName) ? "DEBT" : "FAILED"

/** What counts as this settlement's payment on chain. */
export const expectedOf = (s: SettlementRecord): ExpectedPayment => ({
  sessionKey: s.settlementKey,
  user: s.userAddress,
  contentId: s.contentId,
  minAmount: s.amount
})

/**
 * Records the outcome of a settlement in the outbox, once (every update is guarded by the status it
 * leaves): what the outbox's `finish`, the reconciler and the sender's watchers have learnt.
 */
export class SettlementRecorder extends Context.Tag("payg/SettlementRecorder")<
  SettlementRecorder,
  {
    /** Paid: CONFIRMED, the session COMPLETED. */
    readonly confirm: (s: SettlementRecord, paid: Settlement) => Effect.Effect<boolean, DatabaseUnavailable>
    readonly fail: (s: SettlementRecord, reason: string) => Effect.Effect<boolean, DatabaseUnavailable>
    /** Refused by the chain: a debt, a failure, or (AlreadySettled) the payment already on chain adopted. */
    readonly refused: (s: SettlementRecord, errorName: string, reason: string) => Effect.Effect<void, DatabaseUnavailable>
    /** Nothing learnt: one more attempt, left to a later try. */
    readonly touch: (s: SettlementRecord) => Effect.Effect<void, DatabaseUnavailable>
    /** An on-chain settlement of this key counts only if it is this session's payment: the same rule as verifyPayment. */
    readonly adopt: (s: SettlementRecord, onChain: Settlement) => Effect.Effect<boolean, DatabaseUnavailable>
  }
>() {}

export const SettlementRecorderLive = Layer.effect(
  SettlementRecorder,
  Effect.gen(function* () {
    const repo = yield* SessionRepo
    const chain = yield* Chain

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
        ),
        Effect.asVoid
      )
    const touch = (s: SettlementRecord) => Effect.flatMap(Clock.currentTimeMillis, (now) => repo.touchSettlement(s.sessionId, now))

    const adopt = (s: SettlementRecord, onChain: Settlement) =>
      Option.match(paymentMismatch(onChain, expectedOf(s)), {
        onNone: () => confirm(s, onChain),
        onSome: (why) => fail(s, `settlement key ${s.settlementKey} was already used on chain by another payment (${why})`)
      })

    const refused = (s: SettlementRecord, errorName: string, reason: string) => {
      if (errorName === "AlreadySettled") {
        return chain.findSettlement(s.settlementKey).pipe(
          Effect.matchEffect({
            onFailure: () => touch(s),
            onSuccess: Option.match({ onNone: () => touch(s), onSome: (onChain) => Effect.asVoid(adopt(s, onChain)) })
          })
        )
      }
      const why = new SettlementRejected({ errorName, reason }).message
      return refusalOutcome(s.status, errorName) === "DEBT" ? owe(s, why) : Effect.asVoid(fail(s, why))
    }

    return SettlementRecorder.of({ confirm, fail, refused, touch, adopt })
  })
)
