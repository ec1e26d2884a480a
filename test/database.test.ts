import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseLive } from "../src/db/Database.js"
import { runMigrations } from "../src/db/migrate.js"
import { seedCatalogue } from "../src/db/seed.js"
import { configFrom } from "./support/app.js"
import { freshDatabaseUrl } from "./support/database.js"

/** A database that outlives one layer: the test server's (TEST_DATABASE_URL) or a PGlite data directory. */
const persistentDatabase = Effect.gen(function* () {
  const url = yield* freshDatabaseUrl
  if (Option.isSome(url)) return { DATABASE_URL: url.value }
  const dir = yield* Effect.acquireRelease(Effect.promise(() => mkdtemp(join(tmpdir(), "payg-pgdata-"))), (d) =>
    Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  return { PGLITE_DATA_DIR: dir }
})

const withDatabase = <A, E>(vars: Record<string, string>, f: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.scoped(
    Effect.flatMap(Layer.build(DatabaseLive.pipe(Layer.provide(configFrom({ LOG_LEVEL: "warn", ...vars })))), (ctx) => Effect.provide(f, ctx))
  )

describe("database", () => {
  it.scoped(
    "migrations run at start and are idempotent across restarts",
    () =>
      Effect.gen(function* () {
        const vars = yield* persistentDatabase
        const tables = yield* withDatabase(
          vars,
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ readonly name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`
          )
        )
        expect(tables.map((t) => t.name)).toEqual(
          expect.arrayContaining(["chain_binding", "content", "idempotency_keys", "payg_migrations", "sessions", "settlements"])
        )
        // second start on the same database: nothing left to apply, data intact
        const second = yield* withDatabase(vars, Effect.zip(seedCatalogue(), runMigrations))
        expect(second[1]).toEqual([])
        const third = yield* withDatabase(vars, Effect.zip(seedCatalogue(), runMigrations))
        expect(third).toEqual([0, []])
      }),
    120_000
  )

  it.scoped("one open session per user and content is enforced by the database itself", () =>
    Effect.gen(function* () {
      const vars = yield* persistentDatabase
      const result = yield* withDatabase(
        vars,
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seedCatalogue()
          const insert = (id: string, status: string) => sql`
            INSERT INTO sessions (id, settlement_key, user_address, content_id, status, full_price, total_duration, started_at, segment_started_at, updated_at)
            VALUES (${id}, nextval('settlement_key_seq'), '0x742c4b0f8e6cd2e0b35e8ef6dbc66f5c6d4b9e8a', 'intro-to-defi', ${status}, 10000000, 3600, now(), now(), now())`
          yield* insert("session_a_00000001", "COMPLETED")
          yield* insert("session_a_00000002", "ACTIVE")
          return yield* Effect.either(insert("session_a_00000003", "PAUSED"))
        })
      )
      expect(result._tag).toBe("Left")
    })
  )
})
