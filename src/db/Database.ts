import { PGlite } from "@electric-sql/pglite"
import { pgliteInMemory } from "./pgliteTemplate.js"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { PgClient } from "@effect/sql-pg"
import { SqlClient, type SqlConnection } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import * as Reactivity from "@effect/experimental/Reactivity"
import { Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import pg from "pg"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AppConfig } from "../config.js"
import { runMigrations } from "./migrate.js"
import { layerNotified, layerPolled, type SessionChanges } from "./SessionChanges.js"

/**
 * The database adapter: PostgreSQL when DATABASE_URL is set, otherwise an embedded PGlite served over
 * a private Unix socket so the very same `@effect/sql-pg` client, SQL and migrations run on both.
 *
 * Every query goes through the SqlClient (`safeClient`: the `@effect/sql-pg` driver's connections,
 * never cancelled), so a repository's statement inside `sql.withTransaction` runs on the transaction's
 * connection. `PgPool` is the driver's `pg` pool itself, for what only the pool knows (its connection
 * counts, for /metrics); it runs no query. `SessionChanges` tells which sessions changed.
 */
export class PgPool extends Context.Tag("payg/PgPool")<PgPool, pg.Pool>() {}

/**
 * Every new pooled connection starts from a clean session. Behind PGlite a new connection is not a new
 * session: it lands in the one session the previous connection used, with that connection's state
 * still there (when the hot reads were named prepared statements, preparing one again failed with
 * 42P05 and took the connection down with it). Whatever ended the previous connection (the
 * idle timeout, a network error, the database restarting), `DISCARD ALL` removes what it left behind
 * (prepared statements, session settings, session advisory locks, temporary tables) before the
 * connection is handed out. On PostgreSQL a new connection is a new session and this costs one round
 * trip per connection.
 */
const cleanSession = (client: pg.ClientBase): Promise<unknown> => client.query("DISCARD ALL")

/** A pool, checked once so an unreachable database fails the start quickly and clearly. */
const makePool = (options: pg.PoolConfig) =>
  Effect.gen(function* () {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const p = new pg.Pool({ ...options, application_name: "payg", onConnect: cleanSession })
        // an idle client's error (the server went away) is handled when the pool next hands it out
        p.on("error", () => undefined)
        return p
      }),
      (p) => Effect.promise(() => p.end()).pipe(Effect.timeoutOption(Duration.seconds(2)))
    )
    yield* Effect.tryPromise({
      try: () => pool.query("SELECT 1"),
      catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(options.connectionTimeoutMillis ?? 15_000),
        onTimeout: () => new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
      })
    )
    return pool
  })

/** DATABASE_IDLE_TIMEOUT's defaults: node-postgres's own for the embedded database, longer for a server. */
const PGLITE_IDLE_TIMEOUT = Duration.seconds(10)
const PG_IDLE_TIMEOUT = Duration.seconds(30)

/** `pg` reads 0 as "never close an idle connection" (so does an infinite duration here). */
const idleMillis = (configured: Option.Option<Duration.Duration>, fallback: Duration.Duration): number => {
  const ms = Duration.toMillis(Option.getOrElse(configured, () => fallback))
  return Number.isFinite(ms) ? Math.round(ms) : 0
}

/**
 * A connection whose statements, once sent, are never cancelled by an interruption: the interrupted
 * fiber waits for the statement to end on its own (bounded by STATEMENT_TIMEOUT on PostgreSQL).
 *
 * @effect/sql-pg answers the interruption of a running query with `SELECT pg_cancel_backend(pid)`
 * sent over another pooled connection. When that request has to wait for a connection, the query it
 * meant may be over by the time it runs, and the backend it names is running the next statement on
 * that connection, another request's: that statement fails with "canceling statement due to user
 * request" (a 500 for an innocent request). A query a fiber no longer wants costs the database the
 * rest of its run; cancelling it is not worth that risk. A stream (a cursor) is closed by its scope
 * and was never cancelled.
 */
const uncancellable = (connection: SqlConnection.Connection): SqlConnection.Connection => ({
  execute: (sql, params, transformRows) => Effect.uninterruptible(connection.execute(sql, params, transformRows)),
  executeRaw: (sql, params) => Effect.uninterruptible(connection.executeRaw(sql, params)),
  executeStream: (sql, params, transformRows) => connection.executeStream(sql, params, transformRows),
  executeValues: (sql, params) => Effect.uninterruptible(connection.executeValues(sql, params)),
  executeUnprepared: (sql, params, transformRows) => Effect.uninterruptible(connection.executeUnprepared(sql, params, transformRows))
})

/**
 * The SqlClient every repository uses: @effect/sql-pg's, with every statement run on a connection
 * reserved for it (a transaction's own inside `withTransaction`) and made `uncancellable`. Reserving
 * is uninterruptible too: @effect/sql-pg's reservation, interrupted while it waits for the pool, would
 * never give the connection it then receives back (the wait is bounded by the pool's connection timeout).
 */
const safeClient = (pool: pg.Pool) =>
  Effect.gen(function* () {
    const driver = yield* PgClient.PgClient
    const connection = Effect.map(Effect.uninterruptible(driver.reserve), uncancellable)
    return yield* SqlClient.make({
      acquirer: connection,
      transactionAcquirer: connection,
      compiler: PgClient.makeCompiler(),
      spanAttributes: [
        ["db.system.name", "postgresql"],
        ["db.namespace", pool.options.database ?? "postgres"],
        ["server.address", pool.options.host ?? "localhost"],
        ["server.port", pool.options.port ?? 5432]
      ]
    })
  })

/** SqlClient (safeClient), PgPool and SessionChanges over one pool. */
const layerFromPool = (options: pg.PoolConfig, changes: Layer.Layer<SessionChanges>) =>
  Layer.unwrapScoped(
    Effect.map(makePool(options), (pool) =>
      Layer.mergeAll(
        Layer.effect(SqlClient.SqlClient, safeClient(pool)).pipe(
          Layer.provide(PgClient.layerFromPool({ acquire: Effect.succeed(pool), applicationName: "payg" })),
          Layer.provide(Reactivity.layer)
        ),
        Layer.succeed(PgPool, pool),
        changes
      )
    )
  )


/** Connections the embedded database's socket accepts at once: the pool's one, and ones still closing. */
const SOCKET_CONNECTIONS = 4

/**
 * Embedded PGlite: in memory (started from a cached initdb template), or in PGLITE_DATA_DIR when set.
 * One connection (PGlite is single-session).
 */
export const layerPGlite = (
  dataDir: Option.Option<string>,
  idleTimeout: Option.Option<Duration.Duration> = Option.none(),
  changesPoll: Option.Option<Duration.Duration> = Option.none()
) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const db = yield* Effect.acquireRelease(
        Option.match(dataDir, {
          onSome: (path) =>
            Effect.tryPromise({
              try: () => PGlite.create(path),
              catch: (cause) => new Error(`could not start the embedded database: ${String(cause)}`)
            }),
          // in memory: from the initdb template (src/db/pgliteTemplate.ts)
          onNone: () => pgliteInMemory
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
          // The pool uses one connection at a time (max: 1, PGlite is one session), but a connection it
          // has just ended may not be detached yet when it opens the next: with room for one, the socket
          // server answered that next one "Too many connections" and closed it (EPIPE, then 503).
          const server = new PGLiteSocketServer({ db, path: join(dir, `.s.PGSQL.${port}`), maxConnections: SOCKET_CONNECTIONS })
          await server.start()
          return server
        }),
        (server) => Effect.promise(() => server.stop()).pipe(Effect.ignore)
      )
      // changes are not notified through the socket (src/db/SessionChanges.ts): event streams poll
      return layerFromPool(
        {
          host: dir,
          port,
          user: "postgres",
          database: "postgres",
          max: 1,
          connectionTimeoutMillis: 10_000,
          idleTimeoutMillis: idleMillis(idleTimeout, PGLITE_IDLE_TIMEOUT)
        },
        layerPolled(changesPoll)
      )
    }).pipe(Effect.orDie)
  )

/**
 * The longest a statement may run on PostgreSQL (the server ends it past this): what an interrupted
 * fiber waits for at most (see `uncancellable`), longer than any request may take (REQUEST_TIMEOUT).
 */
export const STATEMENT_TIMEOUT = Duration.minutes(1)

export const layerPg = (
  url: Redacted.Redacted,
  poolSize: number,
  idleTimeout: Option.Option<Duration.Duration> = Option.none(),
  changesPoll: Option.Option<Duration.Duration> = Option.none()
) => {
  const connection = { connectionString: Redacted.value(url), statement_timeout: Duration.toMillis(STATEMENT_TIMEOUT) }
  return layerFromPool(
    { ...connection, max: poolSize, connectionTimeoutMillis: 15_000, idleTimeoutMillis: idleMillis(idleTimeout, PG_IDLE_TIMEOUT) },
    layerNotified({ ...connection, application_name: "payg" }, changesPoll)
  )
}

/** SqlClient, PgPool and SessionChanges from configuration, migrated. */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const client = Option.match(config.database.url, {
      onSome: (url) => layerPg(url, config.database.poolSize, config.database.idleTimeout, config.database.changesPoll),
      onNone: () => layerPGlite(config.database.pgliteDataDir, config.database.idleTimeout, config.database.changesPoll)
    })
    return Layer.effectDiscard(runMigrations).pipe(Layer.provideMerge(client))
  })
)

