import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { type Address, toAddress } from "../domain/Address.js"
import { settlementKeyBase } from "../domain/Chain.js"
import type { SessionClock, SessionId, SessionStatus } from "../domain/Session.js"
import { SessionId as SessionIdSchema } from "../domain/Session.js"
import { DatabaseUnavailable, SessionAlreadyOpen } from "../domain/errors.js"
import { PgPool } from "../db/Database.js"
import { orUnavailable } from "../db/errors.js"
import { SELECT_SESSION } from "../db/queries.js"
import { rawExecute, rawQuery } from "../db/rawQuery.js"

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
}

export type SettlementStatus = "PENDING" | "DEBT" | "CONFIRMED" | "FAILED"

export interface NewSession {
  readonly id: SessionId
  readonly userAddress: Address
  readonly contentId: string
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly clock: SessionClock
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
    /** The estimated cost (full price) of the user's ACTIVE and PAUSED sessions, plus what is SETTLING. */
    readonly reservedFor: (user: Address) => Effect.Effect<bigint, DatabaseUnavailable>
    readonly listOpen: (user: Address) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    readonly history: (
      user: Address,
      limit: number,
      before: Option.Option<HistoryCursor>
    ) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
    /** Open sessions whose last change is older than `before` (the sweeper's work). */
    readonly idleOpen: (before: number, limit: number) => Effect.Effect<ReadonlyArray<SessionRecord>, DatabaseUnavailable>
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
  }
>() {}

type Row = {
  readonly id: string
  readonly settlementKey: string
  readonly userAddress: string
  readonly contentId: string
  readonly contentTitle: string
  readonly status: SessionStatus
  readonly fullPrice: string
  readonly totalDuration: number
  readonly startedAt: Date
  readonly activeMs: string
  readonly pausedMs: string
  readonly segmentStartedAt: Date
  readonly endedAt: Date | null
  readonly billedSeconds: number | null
  readonly finalCost: string | null
  readonly failureReason: string | null
  readonly updatedAt: Date
  readonly sMode: "operator" | "user" | null
  readonly sAmount: string | null
  readonly sUserTxHash: string | null
  readonly sStatus: SettlementStatus | null
  readonly sAttempts: number | null
  readonly sTxHash: string | null
  readonly sBlockNumber: string | null
  readonly sGasUsed: string | null
  readonly sBatchSize: number | null
  readonly sFromYield: string | null
  readonly sFromPrincipal: string | null
  readonly sFailureReason: string | null
  readonly sCreatedAt: Date | null
}

const big = (s: string | null): bigint | null => (s === null ? null : BigInt(s))

const toRecord = (r: Row): SessionRecord => {
  const id = SessionIdSchema.make(r.id)
  const settlementKey = BigInt(r.settlementKey)
  const userAddress = toAddress(r.userAddress)
  return {
    id,
    settlementKey,
    userAddress,
    contentId: r.contentId,
    contentTitle: r.contentTitle,
    fullPrice: BigInt(r.fullPrice),
    totalDuration: r.totalDuration,
    clock: {
      status: r.status,
      startedAt: r.startedAt.getTime(),
      activeMs: Number(r.activeMs),
      pausedMs: Number(r.pausedMs),
      segmentStartedAt: r.segmentStartedAt.getTime(),
      endedAt: r.endedAt?.getTime() ?? null
    },
    billedSeconds: r.billedSeconds,
    finalCost: big(r.finalCost),
    failureReason: r.failureReason,
    updatedAt: r.updatedAt.getTime(),
    settlement:
      r.sStatus === null || r.sMode === null || r.sAmount === null
        ? Option.none()
        : Option.some({
            sessionId: id,
            settlementKey,
            userAddress,
            contentId: r.contentId,
            amount: BigInt(r.sAmount),
            mode: r.sMode,
            userTxHash: r.sUserTxHash,
            status: r.sStatus,
            attempts: r.sAttempts ?? 0,
            txHash: r.sTxHash,
            blockNumber: big(r.sBlockNumber),
            gasUsed: big(r.sGasUsed),
            batchSize: r.sBatchSize,
            fromYield: big(r.sFromYield),
            fromPrincipal: big(r.sFromPrincipal),
            failureReason: r.sFailureReason,
            createdAt: r.sCreatedAt?.getTime() ?? 0
          })
  }
}

/** This process's settlement-key epoch: 64 random bits, drawn once (see `settlementKeyBase`). */
const drawEpoch = Effect.sync(() => BigInt(`0x${randomBytes(8).toString("hex")}`))

const isUniqueViolation = (e: SqlError): boolean =>
  typeof e.cause === "object" && e.cause !== null && "code" in e.cause && e.cause.code === "23505"

export const SessionRepoPg = Layer.effect(
  SessionRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const select = sql.literal(SELECT_SESSION)
    const one = (rows: ReadonlyArray<Row>) => Option.map(Option.fromNullable(rows[0]), toRecord)
    const ts = (ms: number) => new Date(ms)

    const pool = yield* PgPool
    const keyBase = settlementKeyBase(yield* drawEpoch).toString()
    const findText = `${SELECT_SESSION} WHERE s.id = $1`
    // the hottest read (GET /api/session/:id): straight through the pool
    const find = (id: string) => rawQuery<Row>(pool, findText, [id], "payg_session_find").pipe(Effect.map(one), orUnavailable)

    const settlementsIn = (status: "PENDING" | "DEBT", before: number, limit: number) =>
      sql<Row>`${select} WHERE t.status = ${status} AND t.updated_at < ${ts(before)} ORDER BY t.created_at LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.flatMap((r) => Option.toArray(toRecord(r).settlement))),
        orUnavailable
      )

    return SessionRepo.of({
      insert: (s) =>
        sql`
          INSERT INTO sessions (id, settlement_key, user_address, content_id, status, full_price, total_duration, started_at,
                                active_ms, paused_ms, segment_started_at, updated_at)
          VALUES (${s.id}, ${keyBase}::numeric + nextval('settlement_key_seq'), ${s.userAddress}, ${s.contentId}, ${s.clock.status}, ${s.fullPrice.toString()}, ${s.totalDuration},
                  ${ts(s.clock.startedAt)}, ${s.clock.activeMs}, ${s.clock.pausedMs}, ${ts(s.clock.segmentStartedAt)},
                  ${ts(s.clock.startedAt)})`.pipe(
          Effect.catchIf(isUniqueViolation, () => Effect.fail(new SessionAlreadyOpen({ contentId: s.contentId }))),
          Effect.flatMap(() => sql<Row>`${select} WHERE s.id = ${s.id}`),
          Effect.map(one),
          Effect.flatMap(Option.match({ onNone: () => Effect.die("inserted session vanished"), onSome: Effect.succeed })),
          Effect.catchTag("SqlError", (e) => orUnavailable(Effect.fail(e)))
        ),
      find,
      lock: (id) => sql<Row>`${select} WHERE s.id = ${id} FOR UPDATE OF s`.pipe(Effect.map(one), orUnavailable),
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
      saveClockIf: (id, c, now, expected) =>
        rawExecute(
          pool,
          `UPDATE sessions SET status = $2, active_ms = $3, paused_ms = $4, segment_started_at = $5, updated_at = $6
           WHERE id = $1 AND status = $7 AND active_ms = $8 AND paused_ms = $9 AND segment_started_at = $10`,
          [
            id,
            c.status,
            c.activeMs,
            c.pausedMs,
            ts(c.segmentStartedAt),
            ts(now),
            expected.status,
            expected.activeMs,
            expected.pausedMs,
            ts(expected.segmentStartedAt)
          ]
        ).pipe(
          Effect.map((changed) => changed === 1),
          orUnavailable
        ),
      reservedFor: (user) =>
        sql<{ readonly reserved: string }>`
          SELECT (COALESCE((SELECT sum(full_price) FROM sessions WHERE user_address = ${user} AND status IN ('ACTIVE', 'PAUSED')), 0)
                + COALESCE((SELECT sum(amount) FROM settlements WHERE user_address = ${user} AND status = 'PENDING' AND mode = 'operator'), 0))::text AS reserved`.pipe(
          Effect.map((rows) => BigInt(rows[0]?.reserved ?? "0")),
          orUnavailable
        ),
      listOpen: (user) =>
        sql<Row>`${select} WHERE s.user_address = ${user} AND s.status IN ('ACTIVE', 'PAUSED') ORDER BY s.started_at DESC, s.id DESC`.pipe(
          Effect.map((rows) => rows.map(toRecord)),
          orUnavailable
        ),
      history: (user, limit, before) =>
        sql<Row>`${select} WHERE s.user_address = ${user}
          ${Option.match(before, { onNone: () => sql``, onSome: (c) => sql`AND (s.started_at, s.id) < (${ts(c.startedAt)}, ${c.id})` })}
          ORDER BY s.started_at DESC, s.id DESC LIMIT ${limit}`.pipe(Effect.map((rows) => rows.map(toRecord)), orUnavailable),
      idleOpen: (before, limit) =>
        sql<Row>`${select} WHERE s.status IN ('ACTIVE', 'PAUSED') AND s.updated_at < ${ts(before)} ORDER BY s.updated_at LIMIT ${limit}`.pipe(
          Effect.map((rows) => rows.map(toRecord)),
          orUnavailable
        ),
      insertSettlement: (s) =>
        sql`
          INSERT INTO settlements (session_id, settlement_key, user_address, content_id, amount, mode, user_tx_hash, status, created_at, updated_at)
          VALUES (${s.sessionId}, ${s.settlementKey.toString()}, ${s.userAddress}, ${s.contentId}, ${s.amount.toString()}, ${s.mode},
                  ${s.userTxHash}, 'PENDING', ${ts(s.createdAt)}, ${ts(s.createdAt)})`.pipe(Effect.asVoid, orUnavailable),
      pendingSettlements: (before, limit) => settlementsIn("PENDING", before, limit),
      debts: (before, limit) => settlementsIn("DEBT", before, limit),
      debtOf: (user) =>
        sql<{ readonly debt: string }>`
          SELECT COALESCE(sum(amount), 0)::text AS debt FROM settlements WHERE user_address = ${user} AND status = 'DEBT'`.pipe(
          Effect.map((rows) => BigInt(rows[0]?.debt ?? "0")),
          orUnavailable
        ),
      touchSettlement: (sessionId, now) =>
        sql`UPDATE settlements SET attempts = attempts + 1, updated_at = ${ts(now)} WHERE session_id = ${sessionId}`.pipe(
          Effect.asVoid,
          orUnavailable
        ),
      // each outcome is one statement (two data-modifying CTEs): atomic without a transaction
      confirm: (sessionId, p, now) =>
        rawQuery<{ readonly changed: number }>(
          pool,
          `WITH t AS (
             UPDATE settlements SET status = 'CONFIRMED', tx_hash = $2, block_number = $3, gas_used = $4, batch_size = $5,
                    from_yield = $6, from_principal = $7, updated_at = $8
             WHERE session_id = $1 AND status IN ('PENDING', 'DEBT')
             RETURNING session_id),
           s AS (
             UPDATE sessions SET status = 'COMPLETED', failure_reason = NULL, updated_at = $8
             WHERE id IN (SELECT session_id FROM t) AND status IN ('SETTLING', 'UNPAID')
             RETURNING id)
           SELECT (SELECT count(*) FROM t)::int AS changed`,
          [
            sessionId,
            p.txHash,
            p.blockNumber.toString(),
            p.gasUsed.toString(),
            p.batchSize,
            p.fromYield.toString(),
            p.fromPrincipal.toString(),
            ts(now)
          ]
        ).pipe(
          Effect.map((rows) => (rows[0]?.changed ?? 0) > 0),
          orUnavailable
        ),
      fail: (sessionId, reason, now) =>
        rawQuery<{ readonly changed: number }>(
          pool,
          `WITH t AS (
             UPDATE settlements SET status = 'FAILED', failure_reason = $2, updated_at = $3
             WHERE session_id = $1 AND status IN ('PENDING', 'DEBT')
             RETURNING session_id),
           s AS (
             UPDATE sessions SET status = 'FAILED', failure_reason = $2, updated_at = $3
             WHERE id IN (SELECT session_id FROM t) AND status IN ('SETTLING', 'UNPAID')
             RETURNING id)
           SELECT (SELECT count(*) FROM t)::int AS changed`,
          [sessionId, reason, ts(now)]
        ).pipe(
          Effect.map((rows) => (rows[0]?.changed ?? 0) > 0),
          orUnavailable
        ),
      // the CTE `prev` reads the statement's snapshot: the status as it was before this update
      owe: (sessionId, reason, now) =>
        rawQuery<{ readonly was: SettlementStatus | null }>(
          pool,
          `WITH prev AS (
             SELECT status FROM settlements WHERE session_id = $1 AND status IN ('PENDING', 'DEBT')),
           t AS (
             UPDATE settlements SET status = 'DEBT', failure_reason = $2, attempts = attempts + 1, updated_at = $3
             WHERE session_id = $1 AND status IN ('PENDING', 'DEBT')
             RETURNING session_id),
           s AS (
             UPDATE sessions SET status = 'UNPAID', failure_reason = $2, updated_at = $3
             WHERE id IN (SELECT session_id FROM t) AND status IN ('SETTLING', 'UNPAID')
             RETURNING id)
           SELECT (SELECT status FROM prev WHERE EXISTS (SELECT 1 FROM t)) AS was`,
          [sessionId, reason, ts(now)]
        ).pipe(
          Effect.map((rows) => Option.fromNullable(rows[0]?.was)),
          orUnavailable
        )
    })
  })
)

