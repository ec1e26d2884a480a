import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Every insert and update of a session or of its settlement notifies the session's id on
 * `payg_session_changed` (src/db/SessionChanges.ts): the event streams of every instance wake on it
 * instead of reading their session row on a timer. PostgreSQL delivers a notification when the
 * transaction commits, once per distinct id per transaction.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE FUNCTION payg_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('payg_session_changed', NEW.id);
      RETURN NULL;
    END
    $$`
  yield* sql`
    CREATE FUNCTION payg_notify_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('payg_session_changed', NEW.session_id);
      RETURN NULL;
    END
    $$`
  yield* sql`CREATE TRIGGER sessions_notify AFTER INSERT OR UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION payg_notify_session()`
  yield* sql`CREATE TRIGGER settlements_notify AFTER INSERT OR UPDATE ON settlements FOR EACH ROW EXECUTE FUNCTION payg_notify_settlement()`
})
