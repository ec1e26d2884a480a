import { SqlClient, SqlSchema } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { Address } from "../domain/Address.js"
import { type SessionAuthorization, settlementKeyBase } from "../domain/Chain.js"
import type { SessionClock, SessionId } from "../domain/Session.js"
import { SessionId as SessionIdSchema, SessionStatus as SessionStatusSchema } from "../domain/Session.js"
import { DatabaseUnavailable, SessionAlreadyOpen } from "../domain/errors.js"
import { orUnavailable } from "../db/errors.js"
import { SELECT_SESSION } from "../db/queries.js"

/** A session as stored, with the title of its content and its settlement (if any). */
export interface SessionRecord {
  readonly id: SessionId
  readonly settlementKey: bigint
  readonly userAddress: Address
  readonly contentId: string
  readonly contentTitle: string
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly clock: SessionClock
  readonly billedSeconds: number | null
  readonly finalCost: bigint | null
  readonly failureReason: string | null
  readonly updatedAt: number
  /** The viewer's signed consent to this session's settlement (issue 14); null for an unsigned session. */
  readonly authorization: SessionAuthorization | null
  readonly settlement: Option.Option<SettlementRecord>
}

export interface SettlementRecord {
  readonly sessionId: SessionId
  readonly settlementKey: bigint
  readonly userAddress: Address
  readonly contentId: string
  readonly amount: bigint
  readonly mode: "operator" | "user"
  readonly userTxHash: string | null
  /** DEBT: refused for lack of funds or allowance; owed, retried by the reconciler with the same key. */
  readonly status: SettlementStatus
  readonly attempts: number
  readonly txHash: string | null
  readonly blockNumber: bigint | null
  readonly gasUsed: bigint | null
  readonly batchSize: number | null
  readonly fromYield: bigint | null
  readonly fromPrincipal: bigint | null
  readonly failureReason: string | null
  readonly createdAt: number
  /** The session's signed authorization, carried by every send of this settlement (see settlementRequestOf). */
  readonly authorization: SessionAuthorization | null
}

export type SettlementStatus = "PENDING" | "DEBT" | "CONFIRMED" | "FAILED"

/** What a stop writes to the outbox: a PENDING settlement, nothing tried or learnt yet. */
export const pendingSettlement = (
  s: Pick<SettlementRecord, "sessionId" | "settlementKey" | "userAddress" | "contentId" | "amount" | "mode" | "userTxHash" | "createdAt" | "authorization">
): SettlementRecord => ({
  ...s,
  status: "PENDING",
  attempts: 0,
  txHash: null,
  blockNumber: null,
  gasUsed: null,
  batchSize: null,
  fromYield: null,
  fromPrincipal: null,
  failureReason: null
})

export interface NewSession {
  readonly id: SessionId
  readonly userAddress: Address
  readonly contentId: string
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly clock: SessionClock
  /** A signed session: the quoted key the viewer signed for, and the authorization. Else a new key is drawn. */
  readonly signed?: { readonly settlementKey: bigint; readonly authorization: SessionAuthorization }
}

/** A settlement key reserved for one viewer and content (POST /api/session/quote), until `expiresAt`. */
export interface NewQuote {
  readonly userAddress: Address
  readonly contentId: string
  readonly maxAmount: bigint
  readonly deadline: bigint
  readonly createdAt: number
  readonly expiresAt: number
}

export interface QuoteRecord extends NewQuote {
  readonly settlementKey: bigint
  /** The session that used the quote; null while unused. */
  readonly sessionId: string | null
}

export interface ConfirmedPayment {
  readonly txHash: string
  readonly blockNumber: bigint
  readonly gasUsed: bigint
  readonly batchSize: number
  readonly fromYield: bigint
  readonly fromPrincipal: bigint
}

export interface HistoryCursor {
  readonly startedAt: number
  readonly id: string
}

/** The sessions port: every read and write of sessions and their settlements (the outbox). */
export class SessionRepo extends Context.Tag("payg/SessionRepo")<
  SessionRepo,
  {
    readonly insert: (s: NewSession) => Effect.Effect<SessionRecord, SessionAlreadyOpen | DatabaseUnavailable>
    readonly find: (id: string) => Effect.Effect<Option.Option<SessionRecord>, DatabaseUnavailable>
    /** Reads and row-locks a session: call inside a transaction. */
    readonly lock: (id: string) => Effect.Effect<Option.Option<SessionRecord>, DatabaseUnavailable>
    /** Serialises every balance-changing operation of one user for the rest of the transaction. */
    readonly lockUser: (user: Address) => Effect.Effect<void, DatabaseUnavailable>
    readonly saveClock: (
      id: SessionId,
      clock: SessionClock,
      now: number,
      extra?: { readonly billedSeconds?: number; readonly finalCost?: bigint; readonly failureReason?: string }
    ) => Effect.Effect<void, DatabaseUnavailable>
    /**
     * Saves a clock only if the session's clock is still exactly `expected` (the one it was computed
     * from): a compare-and-set, so a pause or resume needs no transaction. False when it changed first.
     */
    readonly saveClockIf: (id: SessionId, clock: SessionClock, now: number, expected: SessionClock) => Effect.Effect<boolean, DatabaseUnavailable>
    /**
     * What a balance read at block `asOfBlock` does not show yet of the user's spending: the estimated
     * cost (full price) of their ACTIVE and PAUSED sessions, their PENDING settlements (sent or not, in
     * either mode), and their CONFIRMED ones mined after `asOfBlock` (one mined at or before it is in
     * that balance already). None: the balance is taken to show every CONFIRMED one.
     */
    readonly reservedFor: (user: Address, asOfBlock: Option.Option<bigint>) => Effect.Effect<bigint, DatabaseUnavailable>
    readonly listOpen: (user: Address) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    readonly history: (
      user: Address,
      limit: number,
      before: Option.Option<HistoryCursor>
    ) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    /** Open sessions without heartbeats whose last change is older than `before` (the sweeper's work). */
    readonly idleOpen: (before: number, limit: number) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    /** Open sessions with heartbeats whose billable time ended before `now` (the sweeper's work). */
    readonly lapsedOpen: (now: number, limit: number) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    /** Open viewer-signed sessions whose signed deadline (unix seconds) is before `before`, soonest first (the sweeper's work). */
    readonly expiringOpen: (before: bigint, limit: number) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    /** Writes a new outbox row (PENDING, created at `createdAt`). */
    readonly insertSettlement: (s: SettlementRecord) => Effect.Effect<void, DatabaseUnavailable>
    /** PENDING settlements last touched before `before`, oldest first. */
    readonly pendingSettlements: (before: number, limit: number) => Effect.Effect<ReadonlyArray<SettlementRecord>, DatabaseUnavailable>
    readonly touchSettlement: (sessionId: SessionId, now: number) => Effect.Effect<void, DatabaseUnavailable>
    /**
     * PENDING or DEBT -> CONFIRMED and SETTLING or UNPAID -> COMPLETED, once; false when it was already
     * finished. A debt's session loses its failure reason: it is paid.
     */
    readonly confirm: (sessionId: SessionId, payment: ConfirmedPayment, now: number) => Effect.Effect<boolean, DatabaseUnavailable>
    /** PENDING or DEBT -> FAILED and SETTLING or UNPAID -> FAILED, once. */
    readonly fail: (sessionId: SessionId, reason: string, now: number) => Effect.Effect<boolean, DatabaseUnavailable>
    /**
     * PENDING or DEBT -> DEBT and SETTLING or UNPAID -> UNPAID, with the refusal as the reason (one more
     * attempt). The status the settlement had before, None when it was already finished.
     */
    readonly owe: (sessionId: SessionId, reason: string, now: number) => Effect.Effect<Option.Option<SettlementStatus>, DatabaseUnavailable>
    /** The sum of the user's DEBT settlements: what they owe. */
    readonly debtOf: (user: Address) => Effect.Effect<bigint, DatabaseUnavailable>
    /** DEBT settlements last touched before `before`, oldest first (the reconciler's retries). */
    readonly debts: (before: number, limit: number) => Effect.Effect<ReadonlyArray<SettlementRecord>, DatabaseUnavailable>
    /** Stores a quote under a new settlement key (drawn like a session's), deleting quotes expired unused: the key. */
    readonly insertQuote: (q: NewQuote) => Effect.Effect<bigint, DatabaseUnavailable>
    /** Reads and row-locks a quote: call inside a transaction. */
    readonly lockQuote: (settlementKey: bigint) => Effect.Effect<Option.Option<QuoteRecord>, DatabaseUnavailable>
    /** Marks a quote used by a session (once: a used quote is never used again). */
    readonly useQuote: (settlementKey: bigint, sessionId: SessionId) => Effect.Effect<void, DatabaseUnavailable>
  }
>() {}

/** A timestamp column (a `Date` from the driver) as epoch milliseconds. */
const Millis = Schema.transform(Schema.DateFromSelf, Schema.Number, {
  strict: true,
  decode: (d) => d.getTime(),
  encode: (ms) => new Date(ms)
})

const SettlementStatusSchema = Schema.Literal("PENDING", "DEBT", "CONFIRMED", "FAILED")

/** A row of SELECT_SESSION: numerics arrive as text, timestamps as `Date`. */
const SessionRow = Schema.Struct({
  id: SessionIdSchema,
  settlementKey: Schema.BigInt,
  userAddress: Address,
  contentId: Schema.String,
  contentTitle: Schema.String,
  status: SessionStatusSchema,
  fullPrice: Schema.BigInt,
  totalDuration: Schema.Number,
  startedAt: Millis,
  activeMs: Schema.NumberFromString,
  pausedMs: Schema.NumberFromString,
  segmentStartedAt: Millis,
  endedAt: Schema.NullOr(Millis),
  billedSeconds: Schema.NullOr(Schema.Number),
  finalCost: Schema.NullOr(Schema.BigInt),
  failureReason: Schema.NullOr(Schema.String),
  updatedAt: Millis,
  lastHeartbeatAt: Schema.NullOr(Millis),
  liveUntil: Schema.NullOr(Millis),
  sMode: Schema.NullOr(Schema.Literal("operator", "user")),
  sAmount: Schema.NullOr(Schema.BigInt),
  sUserTxHash: Schema.NullOr(Schema.String),
  sStatus: Schema.NullOr(SettlementStatusSchema),
  sAttempts: Schema.NullOr(Schema.Number),
  sTxHash: Schema.NullOr(Schema.String),
  sBlockNumber: Schema.NullOr(Schema.BigInt),
  sGasUsed: Schema.NullOr(Schema.BigInt),
  sBatchSize: Schema.NullOr(Schema.Number),
  sFromYield: Schema.NullOr(Schema.BigInt),
  sFromPrincipal: Schema.NullOr(Schema.BigInt),
  sFailureReason: Schema.NullOr(Schema.String),
  sCreatedAt: Schema.NullOr(Millis),
  authMaxAmount: Schema.NullOr(Schema.BigInt),
  authDeadline: Schema.NullOr(Schema.BigInt),
  authSignature: Schema.NullOr(Schema.String)
})
type SessionRow = typeof SessionRow.Type

const authorizationOf = (r: SessionRow): SessionAuthorization | null =>
  r.authMaxAmount === null || r.authDeadline === null || r.authSignature === null || !r.authSignature.startsWith("0x")
    ? null
    : { maxAmount: r.authMaxAmount, deadline: r.authDeadline, signature: `0x${r.authSignature.slice(2)}` }

/** The decoded row in the record's shape: the session and, when it has one, its settlement. */
const toRecord = (r: SessionRow): SessionRecord => ({
  id: r.id,
  settlementKey: r.settlementKey,
  userAddress: r.userAddress,
  contentId: r.contentId,
  contentTitle: r.contentTitle,
  fullPrice: r.fullPrice,
  totalDuration: r.totalDuration,
  clock: {
    status: r.status,
    startedAt: r.startedAt,
    activeMs: r.activeMs,
    pausedMs: r.pausedMs,
    segmentStartedAt: r.segmentStartedAt,
    endedAt: r.endedAt,
    lastHeartbeatAt: r.lastHeartbeatAt,
    liveUntil: r.liveUntil
  },
  billedSeconds: r.billedSeconds,
  finalCost: r.finalCost,
  failureReason: r.failureReason,
  updatedAt: r.updatedAt,
  authorization: authorizationOf(r),
  settlement:
    r.sStatus === null || r.sMode === null || r.sAmount === null
      ? Option.none()
      : Option.some({
          sessionId: r.id,
          settlementKey: r.settlementKey,
          userAddress: r.userAddress,
          contentId: r.contentId,
          amount: r.sAmount,
          mode: r.sMode,
          userTxHash: r.sUserTxHash,
          status: r.sStatus,
          attempts: r.sAttempts ?? 0,
          txHash: r.sTxHash,
          blockNumber: r.sBlockNumber,
          gasUsed: r.sGasUsed,
          batchSize: r.sBatchSize,
          fromYield: r.sFromYield,
          fromPrincipal: r.sFromPrincipal,
          failureReason: r.sFailureReason,
          createdAt: r.sCreatedAt ?? 0,
          authorization: authorizationOf(r)
        })
})

/** Statement parameters: passed as they are (every field is its own encoding). */
const ClockParams = Schema.Struct({
  status: SessionStatusSchema,
  startedAt: Schema.Number,
  activeMs: Schema.Number,
  pausedMs: Schema.Number,
  segmentStartedAt: Schema.Number,
  endedAt: Schema.NullOr(Schema.Number),
  lastHeartbeatAt: Schema.NullOr(Schema.Number),
  liveUntil: Schema.NullOr(Schema.Number)
})
const PaymentParams = Schema.Struct({
  txHash: Schema.String,
  blockNumber: Schema.BigIntFromSelf,
  gasUsed: Schema.BigIntFromSelf,
  batchSize: Schema.Number,
  fromYield: Schema.BigIntFromSelf,
  fromPrincipal: Schema.BigIntFromSelf
})
const Outcome = Schema.Struct({ sessionId: Schema.String, reason: Schema.String, now: Schema.Number })

/** What a statement that reports its own effect returns: how many rows it changed. */
const Changed = Schema.Struct({ changed: Schema.Number })
/** Sums, as text (numeric). */
const Reserved = Schema.Struct({ reserved: Schema.BigInt })
const Debt = Schema.Struct({ debt: Schema.BigInt })

/** This process's settlement-key epoch: 64 random bits, drawn once (see `settlementKeyBase`). */
const drawEpoch = Effect.sync(() => BigInt(`0x${randomBytes(8).toString("hex")}`))

const isUniqueViolation = (e: SqlError): boolean =>
  typeof e.cause === "object" && e.cause !== null && "code" in e.cause && e.cause.code === "23505"

/**
 * Every statement goes through the SqlClient, so inside `sql.withTransaction` it runs on the
 * transaction's connection, and every row is decoded by its schema (a row that does not match is a
 * defect, not a cast).
 */
export const SessionRepoPg = Layer.effect(
  SessionRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const select = sql.literal(SELECT_SESSION)
    const ts = (ms: number) => new Date(ms)
    const nullableTs = (ms: number | null) => (ms === null ? null : new Date(ms))
    const keyBase = settlementKeyBase(yield* drawEpoch).toString()

    const byId = SqlSchema.findOne({ Request: Schema.String, Result: SessionRow, execute: (id) => sql`${select} WHERE s.id = ${id}` })
    const find = (id: string) => byId(id).pipe(Effect.map(Option.map(toRecord)), orUnavailable)
    const lockById = SqlSchema.findOne({
      Request: Schema.String,
      Result: SessionRow,
      execute: (id) => sql`${select} WHERE s.id = ${id} FOR UPDATE OF s`
    })
    const openOf = SqlSchema.findAll({
      Request: Schema.String,
      Result: SessionRow,
      execute: (user) => sql`${select} WHERE s.user_address = ${user} AND s.status IN ('ACTIVE', 'PAUSED') ORDER BY s.started_at DESC, s.id DESC`
    })
    const historyOf = SqlSchema.findAll({
      Request: Schema.Struct({ user: Schema.String, limit: Schema.Number, before: Schema.OptionFromSelf(Schema.Struct({ startedAt: Schema.Number, id: Schema.String })) }),
      Result: SessionRow,
      execute: ({ before, limit, user }) =>
        sql`${select} WHERE s.user_address = ${user}
          ${Option.match(before, { onNone: () => sql``, onSome: (c) => sql`AND (s.started_at, s.id) < (${ts(c.startedAt)}, ${c.id})` })}
          ORDER BY s.started_at DESC, s.id DESC LIMIT ${limit}`
    })
    const Page = { before: Schema.Number, limit: Schema.Number }
    const idle = SqlSchema.findAll({
      Request: Schema.Struct(Page),
      Result: SessionRow,
      execute: ({ before, limit }) =>
        sql`${select} WHERE s.status IN ('ACTIVE', 'PAUSED') AND s.live_until IS NULL AND s.updated_at < ${ts(before)} ORDER BY s.updated_at LIMIT ${limit}`
    })
    const lapsed = SqlSchema.findAll({
      Request: Schema.Struct({ now: Schema.Number, limit: Schema.Number }),
      Result: SessionRow,
      execute: ({ limit, now }) =>
        sql`${select} WHERE s.status IN ('ACTIVE', 'PAUSED') AND s.live_until IS NOT NULL AND s.live_until < ${ts(now)} ORDER BY s.live_until LIMIT ${limit}`
    })
    const expiring = SqlSchema.findAll({
      Request: Schema.Struct({ before: Schema.BigIntFromSelf, limit: Schema.Number }),
      Result: SessionRow,
      execute: ({ before, limit }) =>
        sql`${select} WHERE s.status IN ('ACTIVE', 'PAUSED') AND s.authorization_deadline < ${before.toString()}::numeric
          ORDER BY s.authorization_deadline LIMIT ${limit}`
    })
    const settlementsIn = SqlSchema.findAll({
      Request: Schema.Struct({ status: Schema.Literal("PENDING", "DEBT"), ...Page }),
      Result: SessionRow,
      execute: ({ before, limit, status }) =>
        sql`${select} WHERE t.status = ${status} AND t.updated_at < ${ts(before)} ORDER BY t.created_at LIMIT ${limit}`
    })
    const settlements = (status: "PENDING" | "DEBT", before: number, limit: number) =>
      settlementsIn({ status, before, limit }).pipe(
        Effect.map((rows) => rows.flatMap((r) => Option.toArray(toRecord(r).settlement))),
        orUnavailable
      )

    const casClock = SqlSchema.findOne({
      Request: Schema.Struct({ id: Schema.String, c: ClockParams, now: Schema.Number, expected: ClockParams }),
      Result: Schema.Struct({ id: Schema.String }),
      execute: ({ c, expected, id, now }) =>
        sql`UPDATE sessions SET status = ${c.status}, active_ms = ${c.activeMs}, paused_ms = ${c.pausedMs},
                   segment_started_at = ${ts(c.segmentStartedAt)}, updated_at = ${ts(now)},
                   last_heartbeat_at = ${nullableTs(c.lastHeartbeatAt)}, live_until = ${nullableTs(c.liveUntil)}
            WHERE id = ${id} AND status = ${expected.status} AND active_ms = ${expected.activeMs}
              AND paused_ms = ${expected.pausedMs} AND segment_started_at = ${ts(expected.segmentStartedAt)}
              AND live_until IS NOT DISTINCT FROM ${nullableTs(expected.liveUntil)}
            RETURNING id`
    })
    // a NULL block (no balance block given) leaves the CONFIRMED ones out: `block_number > NULL` is never true
    const reserved = SqlSchema.single({
      Request: Schema.Struct({ user: Schema.String, asOfBlock: Schema.NullOr(Schema.BigIntFromSelf) }),
      Result: Reserved,
      execute: ({ asOfBlock, user }) => sql`
        SELECT (COALESCE((SELECT sum(full_price) FROM sessions WHERE user_address = ${user} AND status IN ('ACTIVE', 'PAUSED')), 0)
              + COALESCE((SELECT sum(amount) FROM settlements WHERE user_address = ${user}
                            AND (status = 'PENDING' OR (status = 'CONFIRMED' AND block_number > ${asOfBlock === null ? null : asOfBlock.toString()}::numeric))), 0))::text AS reserved`
    })
    const debt = SqlSchema.single({
      Request: Schema.String,
      Result: Debt,
      execute: (user) => sql`SELECT COALESCE(sum(amount), 0)::text AS debt FROM settlements WHERE user_address = ${user} AND status = 'DEBT'`
    })
    // each outcome is one statement (two data-modifying CTEs): atomic without a transaction
    const confirmed = SqlSchema.single({
      Request: Schema.Struct({ sessionId: Schema.String, p: PaymentParams, now: Schema.Number }),
      Result: Changed,
      execute: ({ now, p, sessionId }) => sql`
        WITH t AS (
          UPDATE settlements SET status = 'CONFIRMED', tx_hash = ${p.txHash}, block_number = ${p.blockNumber.toString()}::numeric,
                 gas_used = ${p.gasUsed.toString()}::numeric, batch_size = ${p.batchSize}, from_yield = ${p.fromYield.toString()}::numeric,
                 from_principal = ${p.fromPrincipal.toString()}::numeric, updated_at = ${ts(now)}
          WHERE session_id = ${sessionId} AND status IN ('PENDING', 'DEBT')
          RETURNING session_id),
        s AS (
          UPDATE sessions SET status = 'COMPLETED', failure_reason = NULL, updated_at = ${ts(now)}
          WHERE id IN (SELECT session_id FROM t) AND status IN ('SETTLING', 'UNPAID')
          RETURNING id)
        SELECT (SELECT count(*) FROM t)::int AS changed`
    })
    const failed = SqlSchema.single({
      Request: Outcome,
      Result: Changed,
      execute: ({ now, reason, sessionId }) => sql`
        WITH t AS (
          UPDATE settlements SET status = 'FAILED', failure_reason = ${reason}, updated_at = ${ts(now)}
          WHERE session_id = ${sessionId} AND status IN ('PENDING', 'DEBT')
          RETURNING session_id),
        s AS (
          UPDATE sessions SET status = 'FAILED', failure_reason = ${reason}, updated_at = ${ts(now)}
          WHERE id IN (SELECT session_id FROM t) AND status IN ('SETTLING', 'UNPAID')
          RETURNING id)
        SELECT (SELECT count(*) FROM t)::int AS changed`
    })
    // the CTE `prev` reads the statement's snapshot: the status as it was before this update
    const owed = SqlSchema.single({
      Request: Outcome,
      Result: Schema.Struct({ was: Schema.NullOr(SettlementStatusSchema) }),
      execute: ({ now, reason, sessionId }) => sql`
        WITH prev AS (
          SELECT status FROM settlements WHERE session_id = ${sessionId} AND status IN ('PENDING', 'DEBT')),
        t AS (
          UPDATE settlements SET status = 'DEBT', failure_reason = ${reason}, attempts = attempts + 1, updated_at = ${ts(now)}
          WHERE session_id = ${sessionId} AND status IN ('PENDING', 'DEBT')
          RETURNING session_id),
        s AS (
          UPDATE sessions SET status = 'UNPAID', failure_reason = ${reason}, updated_at = ${ts(now)}
          WHERE id IN (SELECT session_id FROM t) AND status IN ('SETTLING', 'UNPAID')
          RETURNING id)
        SELECT (SELECT status FROM prev WHERE EXISTS (SELECT 1 FROM t)) AS was`
    })

    const newQuote = SqlSchema.single({
      Request: Schema.Struct({
        userAddress: Schema.String,
        contentId: Schema.String,
        maxAmount: Schema.BigIntFromSelf,
        deadline: Schema.BigIntFromSelf,
        createdAt: Schema.Number,
        expiresAt: Schema.Number
      }),
      Result: Schema.Struct({ settlementKey: Schema.BigInt }),
      // quotes that expired unused are deleted on the way: they can never open a session
      execute: (q) => sql`
        WITH purged AS (DELETE FROM session_quotes WHERE session_id IS NULL AND expires_at < ${ts(q.createdAt)})
        INSERT INTO session_quotes (settlement_key, user_address, content_id, max_amount, deadline, created_at, expires_at)
        VALUES (${keyBase}::numeric + nextval('settlement_key_seq'), ${q.userAddress}, ${q.contentId}, ${q.maxAmount.toString()}::numeric,
                ${q.deadline.toString()}::numeric, ${ts(q.createdAt)}, ${ts(q.expiresAt)})
        RETURNING settlement_key::text AS "settlementKey"`
    })
    const quoteByKey = SqlSchema.findOne({
      Request: Schema.BigIntFromSelf,
      Result: Schema.Struct({
        settlementKey: Schema.BigInt,
        userAddress: Address,
        contentId: Schema.String,
        maxAmount: Schema.BigInt,
        deadline: Schema.BigInt,
        createdAt: Millis,
        expiresAt: Millis,
        sessionId: Schema.NullOr(Schema.String)
      }),
      execute: (key) => sql`
        SELECT settlement_key::text AS "settlementKey", user_address AS "userAddress", content_id AS "contentId",
               max_amount::text AS "maxAmount", deadline::text AS "deadline", created_at AS "createdAt", expires_at AS "expiresAt",
               session_id AS "sessionId"
        FROM session_quotes WHERE settlement_key = ${key.toString()}::numeric FOR UPDATE`
    })

    return SessionRepo.of({
      insert: (s) =>
        sql`
          INSERT INTO sessions (id, settlement_key, user_address, content_id, status, full_price, total_duration, started_at,
                                active_ms, paused_ms, segment_started_at, updated_at,
                                authorization_max_amount, authorization_deadline, authorization_signature)
          VALUES (${s.id}, ${s.signed === undefined ? sql`${keyBase}::numeric + nextval('settlement_key_seq')` : sql`${s.signed.settlementKey.toString()}::numeric`},
                  ${s.userAddress}, ${s.contentId}, ${s.clock.status}, ${s.fullPrice.toString()}, ${s.totalDuration},
                  ${ts(s.clock.startedAt)}, ${s.clock.activeMs}, ${s.clock.pausedMs}, ${ts(s.clock.segmentStartedAt)},
                  ${ts(s.clock.startedAt)}, ${s.signed?.authorization.maxAmount.toString() ?? null}::numeric,
                  ${s.signed?.authorization.deadline.toString() ?? null}::numeric, ${s.signed?.authorization.signature ?? null})`.pipe(
          Effect.catchIf(isUniqueViolation, () => Effect.fail(new SessionAlreadyOpen({ contentId: s.contentId }))),
          Effect.zipRight(byId(s.id)),
          Effect.flatMap(Option.match({ onNone: () => Effect.die("inserted session vanished"), onSome: (r) => Effect.succeed(toRecord(r)) })),
          Effect.catchTags({ SqlError: (e) => orUnavailable(Effect.fail(e)), ParseError: (e) => Effect.die(e) })
        ),
      find,
      lock: (id) => lockById(id).pipe(Effect.map(Option.map(toRecord)), orUnavailable),
      lockUser: (user) => sql`SELECT pg_advisory_xact_lock(hashtextextended(${user}, 7))`.pipe(Effect.asVoid, orUnavailable),
      saveClock: (id, c, now, extra) =>
        sql`
          UPDATE sessions SET status = ${c.status}, active_ms = ${c.activeMs}, paused_ms = ${c.pausedMs},
                 segment_started_at = ${ts(c.segmentStartedAt)}, ended_at = ${c.endedAt === null ? null : ts(c.endedAt)},
                 billed_seconds = COALESCE(${extra?.billedSeconds ?? null}, billed_seconds),
                 final_cost = COALESCE(${extra?.finalCost?.toString() ?? null}::numeric, final_cost),
                 failure_reason = COALESCE(${extra?.failureReason ?? null}, failure_reason),
                 updated_at = ${ts(now)}
          WHERE id = ${id}`.pipe(Effect.asVoid, orUnavailable),
      saveClockIf: (id, c, now, expected) => casClock({ id, c, now, expected }).pipe(Effect.map(Option.isSome), orUnavailable),
      reservedFor: (user, asOfBlock) => reserved({ user, asOfBlock: Option.getOrNull(asOfBlock) }).pipe(Effect.map((r) => r.reserved), orUnavailable),
      listOpen: (user) => openOf(user).pipe(Effect.map((rows) => rows.map(toRecord)), orUnavailable),
      history: (user, limit, before) => historyOf({ user, limit, before }).pipe(Effect.map((rows) => rows.map(toRecord)), orUnavailable),
      idleOpen: (before, limit) => idle({ before, limit }).pipe(Effect.map((rows) => rows.map(toRecord)), orUnavailable),
      lapsedOpen: (now, limit) => lapsed({ now, limit }).pipe(Effect.map((rows) => rows.map(toRecord)), orUnavailable),
      expiringOpen: (before, limit) => expiring({ before, limit }).pipe(Effect.map((rows) => rows.map(toRecord)), orUnavailable),
      insertSettlement: (s) =>
        sql`
          INSERT INTO settlements (session_id, settlement_key, user_address, content_id, amount, mode, user_tx_hash, status, created_at, updated_at)
          VALUES (${s.sessionId}, ${s.settlementKey.toString()}, ${s.userAddress}, ${s.contentId}, ${s.amount.toString()}, ${s.mode},
                  ${s.userTxHash}, 'PENDING', ${ts(s.createdAt)}, ${ts(s.createdAt)})`.pipe(Effect.asVoid, orUnavailable),
      pendingSettlements: (before, limit) => settlements("PENDING", before, limit),
      debts: (before, limit) => settlements("DEBT", before, limit),
      debtOf: (user) => debt(user).pipe(Effect.map((r) => r.debt), orUnavailable),
      touchSettlement: (sessionId, now) =>
        sql`UPDATE settlements SET attempts = attempts + 1, updated_at = ${ts(now)} WHERE session_id = ${sessionId}`.pipe(
          Effect.asVoid,
          orUnavailable
        ),
      confirm: (sessionId, p, now) => confirmed({ sessionId, p, now }).pipe(Effect.map((r) => r.changed > 0), orUnavailable),
      fail: (sessionId, reason, now) => failed({ sessionId, reason, now }).pipe(Effect.map((r) => r.changed > 0), orUnavailable),
      owe: (sessionId, reason, now) => owed({ sessionId, reason, now }).pipe(Effect.map((r) => Option.fromNullable(r.was)), orUnavailable),
      insertQuote: (q) =>
        newQuote(q).pipe(
          Effect.map((r) => r.settlementKey),
          orUnavailable
        ),
      lockQuote: (settlementKey) => quoteByKey(settlementKey).pipe(orUnavailable),
      useQuote: (settlementKey, sessionId) =>
        sql`UPDATE session_quotes SET session_id = ${sessionId} WHERE settlement_key = ${settlementKey.toString()}::numeric AND session_id IS NULL`.pipe(
          Effect.asVoid,
          orUnavailable
        )
    })
  })
)
