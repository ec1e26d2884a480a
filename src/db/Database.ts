import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AppConfig } from "../config.js"
import { runMigrations } from "./migrate.js"

/**
 * The database adapter: PostgreSQL when DATABASE_URL is set, otherwise an embedded PGlite served over
 * a private Unix socket so the very same `@effect/sql-pg` client, SQL and migrations run on both.
 */


/** Embedded PGlite: in memory, or in PGLITE_DATA_DIR when set. One connection (PGlite is single-session). */
export const layerPGlite = (dataDir: Option.Option<string>) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const db = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => (Option.isSome(dataDir) ? PGlite.create(dataDir.value) : PGlite.create()),
          catch: (cause) => new Error(`could not start the embedded database: ${String(cause)}`)
        }),
        (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
      )
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "payg-pglite-"))),
        (d) => Effect.promise(() => rm(d, { recursive: true, force: true })).pipe(Effect.ignore)
      )
      const port = 5432
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const server = new PGLiteSocketServer({ db, path: join(dir, `.s.PGSQL.${port}`), maxConnections: 1 })
          await server.start()
          return server
        }),
        (server) => Effect.promise(() => server.stop()).pipe(Effect.ignore)
      )
      return PgClient.layer({
        host: dir,
        port,
        username: "postgres",
        database: "postgres",
        maxConnections: 1,
        connectTimeout: Duration.seconds(10),
        applicationName: "payg"
      })
    }).pipe(Effect.orDie)
  )

export const layerPg = (url: Redacted.Redacted, poolSize: number) =>
  PgClient.layer({
    url,
    maxConnections: poolSize,
    connectTimeout: Duration.seconds(15),
    idleTimeout: Duration.seconds(30),
    applicationName: "payg"
  })

/** PgClient + SqlClient from configuration, migrated. */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const client = Option.match(config.database.url, {
      onSome: (url) => layerPg(url, config.database.poolSize),
      onNone: () => layerPGlite(config.database.pgliteDataDir)
    })
    return Layer.effectDiscard(runMigrations).pipe(Layer.provideMerge(client))
  })
)

export type Sql = SqlClient.SqlClient
