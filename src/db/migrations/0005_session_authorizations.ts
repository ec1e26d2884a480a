import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Viewer-signed sessions (issue 14, docs/SECURITY.md point 6). A quote reserves a settlement key for one
 * viewer and one content until `expires_at`: the key the viewer signs is the key the session gets. A
 * quote is used once: `session_id` is set, in the start's transaction, when a session opens with it.
 * The session keeps the viewer's authorization (the signed maximum, deadline and signature) so that
 * every send of its settlement (stop, batch, reconciler, debt retry) carries it.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE session_quotes (
      settlement_key  numeric(78, 0) PRIMARY KEY,
      user_address    text NOT NULL CHECK (user_address ~ '^0x[0-9a-f]{40}$'),
      content_id      text NOT NULL REFERENCES content (content_id),
      max_amount      numeric(78, 0) NOT NULL CHECK (max_amount >= 0),
      deadline        numeric(78, 0) NOT NULL,
      created_at      timestamptz NOT NULL,
      expires_at      timestamptz NOT NULL,
      session_id      text UNIQUE REFERENCES sessions (id)
    )`
  yield* sql`CREATE INDEX session_quotes_unused_expiry_idx ON session_quotes (expires_at) WHERE session_id IS NULL`
  yield* sql`ALTER TABLE sessions ADD COLUMN authorization_max_amount numeric(78, 0)`
  yield* sql`ALTER TABLE sessions ADD COLUMN authorization_deadline numeric(78, 0)`
  yield* sql`ALTER TABLE sessions ADD COLUMN authorization_signature text`
  // all three or none
  yield* sql`
    ALTER TABLE sessions ADD CONSTRAINT sessions_authorization_whole
      CHECK ((authorization_signature IS NULL) = (authorization_max_amount IS NULL)
         AND (authorization_signature IS NULL) = (authorization_deadline IS NULL))`
})
