import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The content-listing outbox (README, "Managing the catalogue"): every change an operator makes
 * to a catalogue item is written with a row here in the same transaction; the row is done once the
 * chain lists the item as the database describes it (listed with its price, duration and creator when
 * active, delisted when not). A row left pending by a crash or an unreachable chain is finished by the
 * reconciler; `last_error` says why it is still pending.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE content_listing_outbox (
      id          bigserial PRIMARY KEY,
      content_id  text NOT NULL REFERENCES content (content_id),
      created_at  timestamptz NOT NULL,
      attempts    integer NOT NULL DEFAULT 0,
      last_error  text,
      done_at     timestamptz
    )`
  yield* sql`CREATE INDEX content_listing_outbox_pending_idx ON content_listing_outbox (content_id, id) WHERE done_at IS NULL`
})
