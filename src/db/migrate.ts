import { Migrator } from "@effect/sql"
import { Effect } from "effect"
import migration0001 from "./migrations/0001_init.js"
import migration0002 from "./migrations/0002_auth.js"
import migration0003 from "./migrations/0003_settlement_keys.js"
import migration0004 from "./migrations/0004_debts.js"
import migration0006 from "./migrations/0006_operator_transactions.js"

/** Static imports (not the file system): PgMigrator.fromFileSystem cannot load .ts under vitest. */
const migrations = {
  "0001_init": migration0001,
  "0002_auth": migration0002,
  "0003_settlement_keys": migration0003,
  "0004_debts": migration0004,
  "0006_operator_transactions": migration0006
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
