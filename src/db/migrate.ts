import { Migrator } from "@effect/sql"
import { Effect } from "effect"
import migration0001 from "./migrations/0001_init.js"
import migration0002 from "./migrations/0002_auth.js"
import migration0003 from "./migrations/0003_settlement_keys.js"
import migration0004 from "./migrations/0004_debts.js"
import migration0005 from "./migrations/0005_session_authorizations.js"
import migration0008 from "./migrations/0008_webhooks_creators.js"
import migration0010 from "./migrations/0010_content_listings.js"
import migration0009 from "./migrations/0009_heartbeats.js"
import migration0006 from "./migrations/0006_operator_transactions.js"
import migration0011 from "./migrations/0011_session_notifications.js"
import migration0012 from "./migrations/0012_settlements_by_user.js"

/** Static imports (not the file system): PgMigrator.fromFileSystem cannot load .ts under vitest. */
const migrations = {
  "0001_init": migration0001,
  "0002_auth": migration0002,
  "0003_settlement_keys": migration0003,
  "0004_debts": migration0004,
  "0005_session_authorizations": migration0005,
  "0006_operator_transactions": migration0006,
  "0008_webhooks_creators": migration0008,
  "0009_heartbeats": migration0009,
  "0010_content_listings": migration0010,
  "0011_session_notifications": migration0011,
  "0012_settlements_by_user": migration0012
}

export const runMigrations = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table: "payg_migrations"
}).pipe(
  Effect.tap((applied) =>
    applied.length > 0 ? Effect.logInfo("database migrated", { applied: applied.map(([id, name]) => `${id}_${name}`) }) : Effect.void
  ),
  Effect.withSpan("Database.migrate")
)
