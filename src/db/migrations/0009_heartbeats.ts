import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Heartbeats (README "Heartbeats"): a session's last heartbeat and the end of its billable time
 * (that heartbeat plus HEARTBEAT_GRACE), both null until the first heartbeat. The sweeper looks up the
 * open sessions whose billable time has lapsed.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sessions ADD COLUMN last_heartbeat_at timestamptz, ADD COLUMN live_until timestamptz`
  yield* sql`CREATE INDEX sessions_live_until_idx ON sessions (live_until) WHERE status IN ('ACTIVE', 'PAUSED') AND live_until IS NOT NULL`
})
