import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * A viewer's settlements by status and block: start's reservation (PENDING, and CONFIRMED mined after
 * the block the chain view's funds are true at) and the debt check (DEBT) read only that viewer's rows,
 * not every settlement ever made.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX settlements_user_status_block_idx ON settlements (user_address, status, block_number)`
})
