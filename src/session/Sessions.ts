import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Duration, Effect, Either, Fiber, FiberSet, Layer, Metric, Option } from "effect"
import { randomBytes } from "node:crypto"
import { ContentRepo } from "../content/ContentRepo.js"
import type { Address } from "../domain/Address.js"
import { AppConfig } from "../config.js"
import { eoaSigned, quoteDeadline, sessionAuthorizationTypedData, sessionLifetime, termsProblem } from "../chain/authorization.js"
import { Chain, type Funds, type SessionAuthorization } from "../domain/Chain.js"
import { ChainView } from "../chain/ChainView.js"
import {
  AuthorizationRefused,
  type ChainUnavailable,
  ContentNotFound,
  ContentNotSellable,
  DatabaseUnavailable,
  DebtOutstanding,
  InsufficientBalance,
  NotSessionOwner,
  type PaymentNotProven,
  SessionAlreadyOpen,
  SessionNotFound
} from "../domain/errors.js"
import * as Session from "../domain/Session.js"
import type { ContentItem } from "../domain/Content.js"
import { isConnectionFailure } from "../db/errors.js"
import { sessionsStarted, sessionsStopped } from "../metrics/Metrics.js"
import { type HistoryCursor, type QuoteRecord, type SessionRecord, SessionRepo, type SettlementRecord, pendingSettlement } from "./SessionRepo.js"
import { SettlementOutbox } from "./SettlementOutbox.js"

export interface Started {
  readonly session: SessionRecord
  readonly content: ContentItem
}

/** The viewer's authorization given at start: the quoted key and the signed terms. */
export interface SignedStart extends SessionAuthorization {
  readonly sessionKey: bigint
}

/** A quote: the reserved key, the terms to sign and the EIP-712 typed data that says them. */
export interface Quote {
  readonly quote: QuoteRecord
  readonly content: ContentItem
  /** Whether the wallet settles only signed sessions (then start needs the signature). */
  readonly authorizationRequired: boolean
  readonly typedData: ReturnType<typeof sessionAuthorizationTypedData>
}

/** Who asks: a viewer (checked against the session's owner) or the system (sweeper). */
export type Actor = { readonly _tag: "User"; readonly address: Address } | { readonly _tag: "System" }

/**
 * What a viewer may still spend: the vault funds the wallet may take (the lesser of the balance and the
 * allowance), less what is reserved of them. With funds read at block B and `SessionRepo.reservedFor`
 * as of B, never more than the truth (docs in README, "Stops on a slow chain").
 */
export const spendableOf = (funds: Funds, reserved: bigint): bigint => {
  const held = funds.balances.yieldBalance + funds.balances.principal
  const usable = funds.allowance < held ? funds.allowance : held
  return usable > reserved ? usable - reserved : 0n
}

const randomHex8 = Effect.sync(() => randomBytes(4).toString("hex"))

/** A transaction whose own failures (begin, commit) are mapped like any query's: outage -> 503, else a defect. */
const sqlTx = <A, E, R>(sql: SqlClient.SqlClient, effect: Effect.Effect<A, E, R>) =>
  sql.withTransaction(effect).pipe(
    Effect.catchIf(
      (e): e is SqlError => e instanceof SqlError,
      (e) => (isConnectionFailure(e) ? Effect.fail(new DatabaseUnavailable({ reason: "connection failed" })) : Effect.die(e))
    )
  )

/**
 * The session use cases (DESIGN.md section 5). Start takes a per-user lock so parallel starts cannot
 * spend one balance twice, and is refused while the user owes a debt; stop is one transaction on the
 * row-locked session that also writes the outbox; pause and resume are a compare-and-set on the exact
 * clock they were computed from.
 */
export class Sessions extends Context.Tag("payg/Sessions")<
  Sessions,
  {
    /** Reserves a settlement key for the viewer and content and says what to sign for it. */
    readonly quote: (
      user: Address,
      contentId: string
    ) => Effect.Effect<Quote, ContentNotFound | ContentNotSellable | ChainUnavailable | DatabaseUnavailable>
    readonly start: (
      user: Address,
      contentId: string,
      signed: Option.Option<SignedStart>
    ) => Effect.Effect<
      Started,
      | AuthorizationRefused
      | ContentNotFound
      | ContentNotSellable
      | SessionAlreadyOpen
      | DebtOutstanding
      | InsufficientBalance
      | ChainUnavailable
      | DatabaseUnavailable
    >
    readonly pause: (id: string, actor: Actor) => Effect.Effect<SessionRecord, SessionNotFound | NotSessionOwner | Session.IllegalTransition | DatabaseUnavailable>
    readonly resume: (id: string, actor: Actor) => Effect.Effect<SessionRecord, SessionNotFound | NotSessionOwner | Session.IllegalTransition | DatabaseUnavailable>
    /** Records a heartbeat: the session is billable until now + HEARTBEAT_GRACE. */
    readonly heartbeat: (id: string, actor: Actor) => Effect.Effect<SessionRecord, SessionNotFound | NotSessionOwner | Session.IllegalTransition | DatabaseUnavailable>
    /**
     * Records the stop and hands its settlement to a background fiber, then waits for the session to
     * end: at most `wait` when given (it may still be SETTLING then), else until the settlement was
     * driven as far as it goes now.
     */
    readonly stop: (
      id: string,
      actor: Actor,
      txHash: Option.Option<`0x${string}`>,
      wait?: Option.Option<Duration.Duration>
    ) => Effect.Effect<
      SessionRecord,
      SessionNotFound | NotSessionOwner | Session.IllegalTransition | PaymentNotProven | ChainUnavailable | DatabaseUnavailable
    >
    readonly get: (id: string, actor: Actor) => Effect.Effect<SessionRecord, SessionNotFound | NotSessionOwner | DatabaseUnavailable>
    readonly active: (user: Address) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    readonly history: (
      user: Address,
      limit: number,
      before: Option.Option<HistoryCursor>
    ) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
  }
>() {}

/** How often a waiting stop reads its session row (the row is the truth for every instance). */
const WAIT_POLL = Duration.millis(25)

export const SessionsLive = Layer.scoped(
  Sessions,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* SessionRepo
    const contents = yield* ContentRepo
    const chain = yield* Chain
    // the hot path's chain figures (listing, balances, allowance) come from the view
    const view = yield* ChainView
    const outbox = yield* SettlementOutbox
    const config = yield* AppConfig
    const seconds = (d: Duration.Duration) => Math.ceil(Duration.toMillis(d) / 1000)
    const domain = { chainId: chain.binding.chainId, wallet: chain.binding.wallet }
    const lifetimeOf = (content: ContentItem) =>
      sessionLifetime({ totalDuration: content.totalDuration, maxIdle: seconds(config.settlement.sessionMaxIdle), margin: seconds(config.authorization.margin) })
    const graceMs = Duration.toMillis(config.heartbeat.grace)
    // settlements being driven after their stop answered; on shutdown they are left to the reconciler
    const settling = yield* FiberSet.make<undefined, DatabaseUnavailable>()

    const owned = (rec: Option.Option<SessionRecord>, id: string, actor: Actor) =>
      Effect.gen(function* () {
        if (Option.isNone(rec)) return yield* new SessionNotFound({ sessionId: id })
        if (actor._tag === "User" && rec.value.userAddress !== actor.address) return yield* new NotSessionOwner({ sessionId: id })
        return rec.value
      })

    /**
     * Reads, checks ownership, applies a clock transition and saves it if nobody changed the session in
     * between (compare-and-set: two statements, no transaction); on a lost race, reads again and
     * re-decides, so a concurrent pause and pause ends in one PAUSED and one 409.
     */
    const transition = (
      id: string,
      actor: Actor,
      action: "pause" | "resume" | "heartbeat",
      f: (clock: Session.SessionClock, now: number) => Either.Either<Session.SessionClock, Session.IllegalTransition>
    ) => {
      const attempt = (left: number): Effect.Effect<SessionRecord, SessionNotFound | NotSessionOwner | Session.IllegalTransition | DatabaseUnavailable> =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const rec = yield* owned(yield* repo.find(id), id, actor)
          const clock = yield* f(rec.clock, now)
          const saved = yield* repo.saveClockIf(rec.id, clock, now, rec.clock)
          if (saved) return { ...rec, clock, updatedAt: now }
          if (left > 0) return yield* attempt(left - 1)
          return yield* new Session.IllegalTransition({ from: rec.clock.status, action })
        })
      // runs inside the Sessions.pause / Sessions.resume / Sessions.heartbeat span
      return Effect.zipRight(Effect.annotateCurrentSpan("sessionId", id), attempt(5))
    }

    /** The catalogue item, refused unless the chain lists it at the same price and duration. */
    const sellable = (contentId: string) =>
      Effect.gen(function* () {
        const content = yield* contents.findByContentId(contentId)
        if (Option.isNone(content) || !content.value.isActive) return yield* new ContentNotFound({ contentId })
        const item = content.value
        const listing = yield* view.contentListing(contentId)
        if (!listing.listed) return yield* new ContentNotSellable({ contentId, reason: "it is not listed on chain" })
        if (listing.price !== item.fullPrice) {
          return yield* new ContentNotSellable({ contentId, reason: `the on-chain price ${listing.price} differs from the catalogue price ${item.fullPrice}` })
        }
        if (listing.duration !== BigInt(item.totalDuration)) {
          return yield* new ContentNotSellable({
            contentId,
            reason: `the on-chain duration ${listing.duration} s differs from the catalogue duration ${item.totalDuration} s`
          })
        }
        return item
      })

    const quote = Effect.fn("Sessions.quote")(function* (user: Address, contentId: string) {
      const content = yield* sellable(contentId)
      const now = yield* Clock.currentTimeMillis
      const terms = {
        userAddress: user,
        contentId,
        maxAmount: content.fullPrice,
        deadline: quoteDeadline(now, { quoteTtl: seconds(config.authorization.quoteTtl), lifetime: lifetimeOf(content) }),
        createdAt: now,
        expiresAt: now + Duration.toMillis(config.authorization.quoteTtl)
      }
      const settlementKey = yield* repo.insertQuote(terms)
      return {
        quote: { ...terms, settlementKey, sessionId: null },
        content,
        authorizationRequired: chain.binding.requireAuthorization,
        typedData: sessionAuthorizationTypedData(domain, { viewer: user, contentId, sessionKey: settlementKey, maxAmount: terms.maxAmount, deadline: terms.deadline })
      }
    })

    /** The signed terms cover this session and are the viewer's signature (an EOA's, else a contract wallet's EIP-1271 answer). */
    const checkSignature = (user: Address, content: ContentItem, signed: SignedStart, now: number) =>
      Effect.gen(function* () {
        const problem = termsProblem(signed, { price: content.fullPrice, nowMs: now, lifetime: lifetimeOf(content) })
        if (Option.isSome(problem)) return yield* new AuthorizationRefused({ reason: problem.value })
        const terms = { viewer: user, contentId: content.contentId, sessionKey: signed.sessionKey, maxAmount: signed.maxAmount, deadline: signed.deadline }
        const eoa = eoaSigned(domain, terms, signed.signature)
        if (yield* eoa.ok) return
        if (yield* chain.isValidSignature(user, eoa.digest, signed.signature)) return
        return yield* new AuthorizationRefused({
          reason: `the signature is not ${user}'s signature of these terms (content '${content.contentId}', settlement key ${signed.sessionKey}, maxAmount ${signed.maxAmount}, deadline ${signed.deadline}) for chain ${domain.chainId} and StreamingWallet ${domain.wallet}`
        })
      })

    /** The quote of the signed key: this viewer's, for this content, unused and unexpired (row-locked: call in the start's transaction). */
    const checkQuote = (user: Address, contentId: string, sessionKey: bigint, now: number) =>
      Effect.gen(function* () {
        const found = yield* repo.lockQuote(sessionKey)
        const refuse = (reason: string) => Effect.fail(new AuthorizationRefused({ reason }))
        if (Option.isNone(found) || found.value.userAddress !== user) {
          return yield* refuse(`settlement key ${sessionKey} was not quoted for this address: ask POST /api/session/quote for a key to sign`)
        }
        const q = found.value
        if (q.contentId !== contentId) return yield* refuse(`settlement key ${sessionKey} was quoted for another content ('${q.contentId}')`)
        if (q.sessionId !== null) return yield* refuse(`settlement key ${sessionKey} was already used by session ${q.sessionId}: ask for a new quote`)
        if (q.expiresAt < now) return yield* refuse(`the quote of settlement key ${sessionKey} expired at ${new Date(q.expiresAt).toISOString()}: ask for a new quote`)
      })

    const start = Effect.fn("Sessions.start")(function* (user: Address, contentId: string, signed: Option.Option<SignedStart>) {
      const content = yield* sellable(contentId)
      const now = yield* Clock.currentTimeMillis
      if (Option.isNone(signed) && chain.binding.requireAuthorization) {
        return yield* new AuthorizationRefused({
          reason: "this deployment settles only sessions the viewer signed: ask POST /api/session/quote, sign its typedData and start with `authorization`"
        })
      }
      const id = Session.makeSessionId(now, yield* randomHex8)
      yield* Effect.annotateCurrentSpan("sessionId", id)
      const session = yield* sqlTx(
        sql,
        Effect.gen(function* () {
          yield* repo.lockUser(user)
          // the quote first (its problems are the clearest to the viewer), then the signed terms
          if (Option.isSome(signed)) {
            yield* checkQuote(user, contentId, signed.value.sessionKey, now)
            yield* checkSignature(user, content, signed.value, now)
          }
          // a viewer who owes for a session already watched starts nothing until it is paid
          const debt = yield* repo.debtOf(user)
          if (debt > 0n) return yield* new DebtOutstanding({ debt })
          const open = yield* repo.listOpen(user)
          if (open.some((s) => s.contentId === contentId)) return yield* new SessionAlreadyOpen({ contentId })
          // the funds as of a block, less what the database knows was spent or reserved that they do not show yet
          const { block, funds } = yield* view.fundsOf(user)
          const reserved = yield* repo.reservedFor(user, Option.some(block))
          const spendable = spendableOf(funds, reserved)
          const required = Session.estimatedCost(content.fullPrice)
          if (spendable < required) return yield* new InsufficientBalance({ required, spendable })
          const inserted = yield* repo.insert({
            id,
            userAddress: user,
            contentId,
            fullPrice: content.fullPrice,
            totalDuration: content.totalDuration,
            clock: Session.start(now),
            ...Option.match(signed, {
              onNone: () => ({}),
              onSome: ({ sessionKey, ...authorization }) => ({ signed: { settlementKey: sessionKey, authorization } })
            })
          })
          if (Option.isSome(signed)) yield* repo.useQuote(signed.value.sessionKey, id)
          return inserted
        })
      )
      yield* Metric.increment(sessionsStarted)
      return { session, content }
    })

    const isOver = (s: SessionRecord) => s.clock.status !== "SETTLING"

    /**
     * The session once it is over, or as it stands when `wait` runs out: its row is read every
     * WAIT_POLL, and at once when the settlement's fiber here is done. A settlement that fiber left
     * unsent (the chain unreachable) has nothing to wait for: it answers then. With no wait the row
     * is read once. (A read the bound interrupts ends first: the database client never cancels a statement.)
     */
    const awaitOutcome = (id: string, fiber: Fiber.RuntimeFiber<undefined, DatabaseUnavailable>, wait: Duration.Duration) =>
      Effect.gen(function* () {
        const read = Effect.flatMap(repo.find(id), (rec) => owned(rec, id, { _tag: "System" }))
        if (Duration.isZero(wait)) return yield* read
        const done = Effect.map(Fiber.poll(fiber), Option.isSome)
        const check = Effect.flatMap(read, (rec) =>
          Effect.map(done, (finished) => {
            const sent = Option.exists(rec.settlement, (t) => t.txHash !== null)
            return isOver(rec) || (finished && !sent) ? Option.some(rec) : Option.none<SessionRecord>()
          })
        )
        // until the fiber is done, its end wakes the wait too
        const pause = Effect.flatMap(done, (finished) => (finished ? Effect.sleep(WAIT_POLL) : Effect.raceFirst(Effect.sleep(WAIT_POLL), Fiber.await(fiber))))
        const outcome: Effect.Effect<SessionRecord, SessionNotFound | NotSessionOwner | DatabaseUnavailable> = Effect.flatMap(
          check,
          Option.match({ onSome: Effect.succeed, onNone: () => Effect.zipRight(pause, outcome) })
        )
        return yield* outcome.pipe(
          Effect.timeoutOption(wait),
          Effect.flatMap(Option.match({ onSome: Effect.succeed, onNone: () => read }))
        )
      })

    const stop = Effect.fn("Sessions.stop")(function* (
      id: string,
      actor: Actor,
      txHash: Option.Option<`0x${string}`>,
      wait: Option.Option<Duration.Duration> = Option.none()
    ) {
      yield* Effect.annotateCurrentSpan("sessionId", id)
      const now = yield* Clock.currentTimeMillis
      // a user-paid session: prove the payment before anything changes
      if (Option.isSome(txHash)) {
        const peek = yield* owned(yield* repo.find(id), id, actor)
        const priced = yield* Session.stop(peek.clock, now, { fullPrice: peek.fullPrice, totalDuration: peek.totalDuration })
        if (priced.cost > 0n) {
          yield* chain.verifyPayment(txHash.value, {
            sessionKey: peek.settlementKey,
            user: peek.userAddress,
            contentId: peek.contentId,
            minAmount: priced.cost
          })
        }
      }
      const stopped = yield* sqlTx(
        sql,
        Effect.gen(function* () {
          const rec = yield* owned(yield* repo.lock(id), id, actor)
          const result = yield* Session.stop(rec.clock, now, { fullPrice: rec.fullPrice, totalDuration: rec.totalDuration })
          yield* repo.saveClock(rec.id, result.clock, now, { billedSeconds: result.billedSeconds, finalCost: result.cost })
          if (result.clock.status !== "SETTLING") return { id: rec.id, outbox: Option.none<SettlementRecord>() }
          // the outbox: recorded with the move to SETTLING, before anything is sent
          const outbox = pendingSettlement({
            sessionId: rec.id,
            settlementKey: rec.settlementKey,
            userAddress: rec.userAddress,
            contentId: rec.contentId,
            amount: result.cost,
            mode: Option.isSome(txHash) ? "user" : "operator",
            userTxHash: Option.getOrNull(txHash),
            createdAt: now,
            authorization: rec.authorization
          })
          yield* repo.insertSettlement(outbox)
          return { id: rec.id, outbox: Option.some(outbox) }
        })
      )
      yield* Metric.increment(sessionsStopped)
      if (Option.isNone(stopped.outbox)) return yield* owned(yield* repo.find(stopped.id), id, { _tag: "System" })
      const record = stopped.outbox.value
      // the settlement's block names the viewer: the view reads their funds again then, by itself
      const fiber = yield* FiberSet.run(settling, outbox.finish(record).pipe(Effect.as(undefined)))
      if (Option.isNone(wait)) yield* Fiber.join(fiber)
      return yield* Option.match(wait, {
        onNone: () => Effect.flatMap(repo.find(stopped.id), (rec) => owned(rec, id, { _tag: "System" })),
        onSome: (bound) => awaitOutcome(stopped.id, fiber, bound)
      })
    })

    return Sessions.of({
      quote,
      start,
      pause: Effect.fn("Sessions.pause")((id: string, actor: Actor) => transition(id, actor, "pause", Session.pause)),
      resume: Effect.fn("Sessions.resume")((id: string, actor: Actor) => transition(id, actor, "resume", Session.resume)),
      heartbeat: Effect.fn("Sessions.heartbeat")((id: string, actor: Actor) =>
        transition(id, actor, "heartbeat", (clock, now) => Session.heartbeat(clock, now, graceMs))
      ),
      stop,
      get: Effect.fnUntraced(function* (id: string, actor: Actor) {
        return yield* owned(yield* repo.find(id), id, actor)
      }),
      active: (user) => repo.listOpen(user),
      history: (user, limit, before) => repo.history(user, limit, before)
    })
  })
)

