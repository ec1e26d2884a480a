import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Settlement webhooks and creator earnings (issue 17).
 *
 * - `webhook_events`: the webhook outbox. One row per (session, event type), so an event is created
 *   once however many dispatchers look; its body is frozen at creation and delivered at least once.
 * - `webhook_state`: since when events are made (sessions finished earlier get none) and how far the
 *   dispatcher has looked (`scanned_to`), so each pass reads only recently finished sessions.
 * - `settlements.creator_address`: the creator of the content when the settlement was recorded, filled
 *   by a trigger (the settlement writers stay as they are); earnings are attributed by it and the audit
 *   compares it with the creator the chain credited.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE webhook_events (
      id               text PRIMARY KEY,
      session_id       text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      type             text NOT NULL CHECK (type IN ('session.completed', 'session.failed', 'session.debt')),
      payload          text NOT NULL,
      status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'GAVE_UP')),
      attempts         integer NOT NULL DEFAULT 0,
      next_attempt_at  timestamptz NOT NULL,
      last_error       text,
      created_at       timestamptz NOT NULL,
      delivered_at     timestamptz,
      UNIQUE (session_id, type)
    )`
  yield* sql`CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status = 'PENDING'`
  yield* sql`
    CREATE TABLE webhook_state (
      singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      enabled_since  timestamptz NOT NULL,
      scanned_to     timestamptz NOT NULL
    )`
  // the dispatcher's scan: finished sessions by the time of their last change
  yield* sql`CREATE INDEX sessions_finished_idx ON sessions (updated_at) WHERE status IN ('COMPLETED', 'FAILED', 'UNPAID')`

  yield* sql`ALTER TABLE settlements ADD COLUMN creator_address text`
  yield* sql`
    UPDATE settlements t SET creator_address = c.creator_address
    FROM content c WHERE c.content_id = t.content_id`
  yield* sql`
    CREATE FUNCTION settlements_fill_creator() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.creator_address IS NULL THEN
        SELECT lower(creator_address) INTO NEW.creator_address FROM content WHERE content_id = NEW.content_id;
      END IF;
      RETURN NEW;
    END
    $$`
  yield* sql`
    CREATE TRIGGER settlements_fill_creator BEFORE INSERT ON settlements
      FOR EACH ROW EXECUTE FUNCTION settlements_fill_creator()`
  yield* sql`CREATE INDEX settlements_creator_idx ON settlements (creator_address, updated_at) WHERE status = 'CONFIRMED'`
})
