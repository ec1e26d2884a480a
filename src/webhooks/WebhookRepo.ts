import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, Schema } from "effect"
import { Address } from "../domain/Address.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { orUnavailable } from "../db/errors.js"
import { type FinishedSession, type WebhookEventType, eventTypeOf } from "./events.js"

export interface NewWebhookEvent {
  readonly id: string
  readonly sessionId: string
  readonly type: WebhookEventType
  readonly payload: string
  readonly createdAt: number
}

/** An event claimed for one delivery attempt (`attempts` counts this one). */
export interface ClaimedEvent {
  readonly id: string
  readonly type: WebhookEventType
  readonly payload: string
  readonly attempts: number
}

/** The webhook outbox's port (table webhook_events, migration 0008). */
export class WebhookRepo extends Context.Tag("payg/WebhookRepo")<
  WebhookRepo,
  {
    /** Records, once, the time from which finished sessions get events. */
    readonly enable: (now: number) => Effect.Effect<void, DatabaseUnavailable>
    /**
     * Finished sessions (COMPLETED, FAILED, UNPAID) with no event of their status's type yet, changed
     * since the last scan (less `overlapMs`, for changes committed late), oldest change first.
     */
    readonly finishedWithoutEvent: (overlapMs: number, limit: number) => Effect.Effect<ReadonlyArray<FinishedSession>, DatabaseUnavailable>
    /** Inserts the events (one per session and type: a duplicate is skipped) and moves the scan mark to `scannedTo`. */
    readonly record: (events: ReadonlyArray<NewWebhookEvent>, scannedTo: number) => Effect.Effect<void, DatabaseUnavailable>
    /**
     * Claims up to `limit` due PENDING events for one attempt each: their next attempt moves to
     * `leaseUntil`, so no other dispatcher takes them meanwhile (rows locked by one are skipped by another).
     */
    readonly claimDue: (now: number, leaseUntil: number, limit: number) => Effect.Effect<ReadonlyArray<ClaimedEvent>, DatabaseUnavailable>
    /** The attempt succeeded. False when the claim was lost (the lease expired and another attempt began). */
    readonly delivered: (claim: ClaimedEvent, now: number) => Effect.Effect<boolean, DatabaseUnavailable>
    /** The attempt failed: due again at `retryAt`, or given up (GAVE_UP) when `retryAt` is None. */
    readonly failed: (claim: ClaimedEvent, reason: string, retryAt: number | null) => Effect.Effect<boolean, DatabaseUnavailable>
  }
>() {}

const Millis = Schema.transform(Schema.DateFromSelf, Schema.Number, {
  strict: true,
  decode: (d) => d.getTime(),
  encode: (ms) => new Date(ms)
})

const EventType = Schema.Literal("session.completed", "session.failed", "session.debt")

const FinishedRow = Schema.Struct({
  sessionId: Schema.String,
  status: Schema.Literal("COMPLETED", "FAILED", "UNPAID"),
  userAddress: Address,
  contentId: Schema.String,
  settlementKey: Schema.BigInt,
  startedAt: Millis,
  endedAt: Schema.NullOr(Millis),
  billedSeconds: Schema.NullOr(Schema.Number),
  finalCost: Schema.NullOr(Schema.BigInt),
  failureReason: Schema.NullOr(Schema.String),
  updatedAt: Millis,
  pMode: Schema.NullOr(Schema.Literal("operator", "user")),
  pStatus: Schema.NullOr(Schema.Literal("PENDING", "DEBT", "CONFIRMED", "FAILED")),
  pAmount: Schema.NullOr(Schema.BigInt),
  pAttempts: Schema.NullOr(Schema.Number),
  pTxHash: Schema.NullOr(Schema.String),
  pBlockNumber: Schema.NullOr(Schema.BigInt),
  pFromYield: Schema.NullOr(Schema.BigInt),
  pFromPrincipal: Schema.NullOr(Schema.BigInt),
  pFailureReason: Schema.NullOr(Schema.String)
})

const toFinished = (r: typeof FinishedRow.Type): FinishedSession => ({
  sessionId: r.sessionId,
  status: r.status,
  userAddress: r.userAddress,
  contentId: r.contentId,
  settlementKey: r.settlementKey,
  startedAt: r.startedAt,
  endedAt: r.endedAt,
  billedSeconds: r.billedSeconds,
  finalCost: r.finalCost,
  failureReason: r.failureReason,
  updatedAt: r.updatedAt,
  payment:
    r.pMode === null || r.pStatus === null || r.pAmount === null
      ? null
      : {
          mode: r.pMode,
          status: r.pStatus,
          amount: r.pAmount,
          attempts: r.pAttempts ?? 0,
          txHash: r.pTxHash,
          blockNumber: r.pBlockNumber,
          fromYield: r.pFromYield,
          fromPrincipal: r.pFromPrincipal,
          failureReason: r.pFailureReason
        }
})

const Claimed = Schema.Struct({ id: Schema.String, type: EventType, payload: Schema.String, attempts: Schema.Number })

export const WebhookRepoPg = Layer.effect(
  WebhookRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ts = (ms: number) => new Date(ms)
    // the event type of a session's status, in SQL (eventTypeOf in TypeScript)
    const typeOfStatus = sql.literal(
      `CASE s.status WHEN 'COMPLETED' THEN '${eventTypeOf("COMPLETED")}' WHEN 'FAILED' THEN '${eventTypeOf("FAILED")}' ELSE '${eventTypeOf("UNPAID")}' END`
    )

    const finished = SqlSchema.findAll({
      Request: Schema.Struct({ overlapMs: Schema.Number, limit: Schema.Number }),
      Result: FinishedRow,
      execute: ({ limit, overlapMs }) => sql`
        SELECT s.id AS "sessionId", s.status, s.user_address AS "userAddress", s.content_id AS "contentId",
               s.settlement_key::text AS "settlementKey", s.started_at AS "startedAt", s.ended_at AS "endedAt",
               s.billed_seconds AS "billedSeconds", s.final_cost::text AS "finalCost", s.failure_reason AS "failureReason",
               s.updated_at AS "updatedAt", t.mode AS "pMode", t.status AS "pStatus", t.amount::text AS "pAmount",
               t.attempts AS "pAttempts", t.tx_hash AS "pTxHash", t.block_number::text AS "pBlockNumber",
               t.from_yield::text AS "pFromYield", t.from_principal::text AS "pFromPrincipal", t.failure_reason AS "pFailureReason"
        FROM sessions s
        LEFT JOIN settlements t ON t.session_id = s.id
        CROSS JOIN webhook_state w
        WHERE s.status IN ('COMPLETED', 'FAILED', 'UNPAID')
          AND s.updated_at >= GREATEST(w.enabled_since, w.scanned_to - ${overlapMs} * interval '1 millisecond')
          AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.session_id = s.id AND e.type = ${typeOfStatus})
        ORDER BY s.updated_at
        LIMIT ${limit}`
    })

    const claim = SqlSchema.findAll({
      Request: Schema.Struct({ now: Schema.Number, leaseUntil: Schema.Number, limit: Schema.Number }),
      Result: Claimed,
      execute: ({ leaseUntil, limit, now }) => sql`
        UPDATE webhook_events SET attempts = attempts + 1, next_attempt_at = ${ts(leaseUntil)}
        WHERE id IN (
          SELECT id FROM webhook_events
          WHERE status = 'PENDING' AND next_attempt_at <= ${ts(now)}
          ORDER BY next_attempt_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id, type, payload, attempts`
    })

    const Changed = Schema.Struct({ id: Schema.String })
    const markDelivered = SqlSchema.findAll({
      Request: Schema.Struct({ id: Schema.String, attempts: Schema.Number, now: Schema.Number }),
      Result: Changed,
      execute: ({ attempts, id, now }) => sql`
        UPDATE webhook_events SET status = 'DELIVERED', delivered_at = ${ts(now)}, last_error = NULL
        WHERE id = ${id} AND status = 'PENDING' AND attempts = ${attempts}
        RETURNING id`
    })
    const markFailed = SqlSchema.findAll({
      Request: Schema.Struct({ id: Schema.String, attempts: Schema.Number, reason: Schema.String, retryAt: Schema.NullOr(Schema.Number) }),
      Result: Changed,
      execute: ({ attempts, id, reason, retryAt }) =>
        retryAt === null
          ? sql`
              UPDATE webhook_events SET status = 'GAVE_UP', last_error = ${reason}
              WHERE id = ${id} AND status = 'PENDING' AND attempts = ${attempts}
              RETURNING id`
          : sql`
              UPDATE webhook_events SET next_attempt_at = ${ts(retryAt)}, last_error = ${reason}
              WHERE id = ${id} AND status = 'PENDING' AND attempts = ${attempts}
              RETURNING id`
    })

    const insertEvent = (e: NewWebhookEvent) => sql`
      INSERT INTO webhook_events (id, session_id, type, payload, next_attempt_at, created_at)
      VALUES (${e.id}, ${e.sessionId}, ${e.type}, ${e.payload}, ${ts(e.createdAt)}, ${ts(e.createdAt)})
      ON CONFLICT (session_id, type) DO NOTHING`

    return WebhookRepo.of({
      enable: (now) =>
        sql`INSERT INTO webhook_state (enabled_since, scanned_to) VALUES (${ts(now)}, ${ts(now)}) ON CONFLICT (singleton) DO NOTHING`.pipe(
          Effect.asVoid,
          orUnavailable
        ),
      finishedWithoutEvent: (overlapMs, limit) => finished({ overlapMs, limit }).pipe(Effect.map((rows) => rows.map(toFinished)), orUnavailable),
      record: (events, scannedTo) =>
        sql
          .withTransaction(
            Effect.zipRight(
              Effect.forEach(events, insertEvent, { discard: true }),
              sql`UPDATE webhook_state SET scanned_to = GREATEST(scanned_to, ${ts(scannedTo)})`
            )
          )
          .pipe(Effect.asVoid, orUnavailable),
      claimDue: (now, leaseUntil, limit) => claim({ now, leaseUntil, limit }).pipe(orUnavailable),
      delivered: (c, now) => markDelivered({ id: c.id, attempts: c.attempts, now }).pipe(Effect.map((r) => r.length > 0), orUnavailable),
      failed: (c, reason, retryAt) =>
        markFailed({ id: c.id, attempts: c.attempts, reason, retryAt }).pipe(Effect.map((r) => r.length > 0), orUnavailable)
    })
  })
)
