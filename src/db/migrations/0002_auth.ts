import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Sign-In with Ethereum nonces, shared by every instance: issued by GET /api/auth/nonce, consumed
 * exactly once by POST /api/auth/verify (DELETE ... RETURNING), expired ones swept away.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE auth_nonces (
      nonce       text PRIMARY KEY CHECK (nonce ~ '^[A-Za-z0-9]{8,128}$'),
      issued_at   timestamptz NOT NULL,
      expires_at  timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX auth_nonces_expires_idx ON auth_nonces (expires_at)`
})
