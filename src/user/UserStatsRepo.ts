import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, Schema } from "effect"
import type { Address } from "../domain/Address.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { orUnavailable } from "../db/errors.js"

/** A user's usage, aggregated over all their sessions. */
export interface UsageStats {
  readonly totalSessions: number
  /** Sessions that ended COMPLETED (paid). */
  readonly completedSessions: number
  /** Billed seconds over all sessions; open ones count their active time up to `now`. */
  readonly totalWatchTime: number
  /** floor(totalWatchTime / totalSessions), 0 without sessions. */
  readonly averageWatchTime: number
  /** What was actually paid: the CONFIRMED settlements. */
  readonly totalSpent: bigint
}

/** The usage-statistics port: one aggregate query, never a load of every session. */
export class UserStatsRepo extends Context.Tag("payg/UserStatsRepo")<
  UserStatsRepo,
  {
    /** `now` (epoch ms, from `Clock`) prices the open segment of ACTIVE sessions. */
    readonly usageOf: (user: Address, now: number) => Effect.Effect<UsageStats, DatabaseUnavailable>
  }
>() {}

/** The aggregate's one row: counts and sums as text (bigint and numeric in PostgreSQL). */
const UsageRow = Schema.Struct({
  totalSessions: Schema.NumberFromString,
  completedSessions: Schema.NumberFromString,
  totalWatchTime: Schema.NumberFromString,
  averageWatchTime: Schema.NumberFromString,
  totalSpent: Schema.BigInt
})

export const UserStatsRepoPg = Layer.effect(
  UserStatsRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Billed seconds per session, as the session clock defines them (DESIGN.md section 4):
    // - stopped (SETTLING, UNPAID, COMPLETED, CANCELLED, FAILED): billed_seconds, frozen at stop;
    // - PAUSED: floor(active_ms / 1000), the open pause is never billed;
    // - ACTIVE: floor((active_ms + (now - segment_started_at) in ms) / 1000), the open segment never negative.
    // Integer division of non-negative bigints is the floor. settlements.session_id is the primary key, so the
    // LEFT JOIN never duplicates a session.
    const usage = SqlSchema.single({
      Request: Schema.Struct({ user: Schema.String, now: Schema.Number }),
      Result: UsageRow,
      execute: ({ now, user }) => sql`
          SELECT total_sessions::text AS "totalSessions",
                 completed_sessions::text AS "completedSessions",
                 total_watch_time::text AS "totalWatchTime",
                 (CASE WHEN total_sessions = 0 THEN 0 ELSE floor(total_watch_time / total_sessions) END)::text AS "averageWatchTime",
                 total_spent::text AS "totalSpent"
          FROM (
            SELECT count(*) AS total_sessions,
                   count(*) FILTER (WHERE s.status = 'COMPLETED') AS completed_sessions,
                   COALESCE(sum(
                     CASE
                       WHEN s.status = 'ACTIVE' THEN
                         (s.active_ms + GREATEST(0, floor(extract(epoch FROM (${new Date(now)}::timestamptz - s.segment_started_at)) * 1000))::bigint) / 1000
                       WHEN s.status = 'PAUSED' THEN s.active_ms / 1000
                       ELSE COALESCE(s.billed_seconds, s.active_ms / 1000)
                     END
                   ), 0) AS total_watch_time,
                   COALESCE(sum(t.amount) FILTER (WHERE t.status = 'CONFIRMED'), 0) AS total_spent
            FROM sessions s
            LEFT JOIN settlements t ON t.session_id = s.id
            WHERE s.user_address = ${user}
          ) AS usage`
    })
    return UserStatsRepo.of({
      usageOf: (user, now) => usage({ user, now }).pipe(orUnavailable, Effect.withSpan("UserStatsRepo.usageOf"))
    })
  })
)
