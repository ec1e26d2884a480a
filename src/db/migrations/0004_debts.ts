import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Debts (docs/RELIABILITY.md, "Debts"): a settlement the chain refused for lack of funds or allowance
 * is kept as a `DEBT` (same row, same key, same amount) and its session as `UNPAID`, until the
 * reconciler settles it; then they become CONFIRMED / COMPLETED like any other payment.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sessions DROP CONSTRAINT sessions_status_check`
  yield* sql`
    ALTER TABLE sessions ADD CONSTRAINT sessions_status_check
      CHECK (status IN ('ACTIVE', 'PAUSED', 'SETTLING', 'UNPAID', 'COMPLETED', 'CANCELLED', 'FAILED'))`
  yield* sql`ALTER TABLE settlements DROP CONSTRAINT settlements_status_check`
  yield* sql`
    ALTER TABLE settlements ADD CONSTRAINT settlements_status_check
      CHECK (status IN ('PENDING', 'DEBT', 'CONFIRMED', 'FAILED'))`
  // what a user owes (the start check, the balance) and the reconciler's retries, oldest attempt first
  yield* sql`CREATE INDEX settlements_debt_user_idx ON settlements (user_address) WHERE status = 'DEBT'`
  yield* sql`CREATE INDEX settlements_debt_retry_idx ON settlements (updated_at) WHERE status = 'DEBT'`
})
