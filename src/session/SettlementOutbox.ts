import { Clock, Context, Effect, Layer, Option } from "effect"
import { Chain } from "../domain/Chain.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { type SettlementRecord, SessionRepo } from "./SessionRepo.js"
import { SettlementRecorder, expectedOf } from "./SettlementRecorder.js"
import { SettlementSender } from "./SettlementSender.js"

export interface ReconcileReport {
  readonly confirmed: number
  readonly failed: number
  readonly stillPending: number
  /** Debts looked at in this pass and still owed. */
  readonly debts: number
}

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
    const recorder = yield* SettlementRecorder
    const { adopt, confirm, fail, touch } = recorder

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
      (s.mode === "user" ? finishUser(s) : sender.submit(s)).pipe(
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

    /**
     * What the chain already holds for the key is recorded first (also a debt's retry sent but not
     * recorded); a settlement whose transaction is still followed by a sender is left to it.
     */
    const reconcileOne = (s: SettlementRecord) =>
      s.mode === "user"
        ? finish(s)
        : Effect.flatMap(sender.carries(s.sessionId), (carried) =>
            carried
              ? Effect.void
              : chain.findSettlement(s.settlementKey).pipe(
                  Effect.matchEffect({
                    onFailure: () => Effect.void,
                    onSuccess: Option.match({ onNone: () => send(s), onSome: (onChain) => Effect.asVoid(adopt(s, onChain)) })
                  })
                )
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
