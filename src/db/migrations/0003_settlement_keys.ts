import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Settlement keys unique for the life of a deployment (issue 13, item 4): a key is now
 * `epoch * 2^64 + n`, where `n` comes from `settlement_key_seq` and `epoch` is drawn at random by each
 * server process (SessionRepo), so keys need more than 64 bits, and only SessionRepo allocates them
 * (no column default: a raw insert cannot fall back to a bare sequence number that a fresh database
 * would hand out again). Keys already assigned keep their values: they are below 2^64, every new key
 * is above 2^127.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sessions ALTER COLUMN settlement_key DROP DEFAULT`
  yield* sql`ALTER TABLE sessions ALTER COLUMN settlement_key TYPE numeric(78, 0)`
  yield* sql`ALTER TABLE settlements ALTER COLUMN settlement_key TYPE numeric(78, 0)`
})
