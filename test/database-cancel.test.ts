import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Redacted, Schedule } from "effect"
import pg from "pg"
import { PgPool, layerPg } from "../src/db/Database.js"

/**
 * An interrupted statement never cancels another one (src/db/Database.ts, the SqlClient). The driver
 * alone (@effect/sql-pg) answers the interruption of a running query with `pg_cancel_backend(pid)`
 * sent over another pooled connection; when that request waits for a connection, the query it meant
 * has finished, and the backend it names is running the next statement: that one is cancelled. Here,
 * on the real PostgreSQL, with a pool of two: a transaction holds one connection, the interrupted
 * query runs on the other, and the statement queued behind it is running when the cancel finally
 * gets a connection.
 */

const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** How many statements of the pool's application are running `text` now, seen from outside the pool. */
const running = (observer: pg.Client, text: string) =>
  Effect.promise(() =>
    observer.query<{ readonly n: string }>(
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = 'payg' AND state = 'active' AND query LIKE $1",
      [`%${text}%`]
    )
  ).pipe(Effect.map((r) => Number(r.rows[0]?.n ?? "0")))

/** Until `text` is running on one of the pool's connections. */
const untilRunning = (observer: pg.Client, text: string) =>
  running(observer, text).pipe(
    Effect.repeat({ until: (n) => n > 0, schedule: Schedule.spaced(Duration.millis(10)) }),
    Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new Error(`${text} never ran`) })
  )

describe("the database client under interruption", () => {
  it.scopedLive("an interrupted query finishes on its connection, and the next statement there is not cancelled", () =>
    Effect.gen(function* () {
      const observer = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const c = new pg.Client({ connectionString: adminUrl })
          await c.connect()
          return c
        }),
        (c) => Effect.promise(() => c.end())
      )
      const context = yield* Layer.build(layerPg(Redacted.make(adminUrl), 2))
      const sql = yield* Effect.provide(SqlClient.SqlClient, context)
      const pool = yield* Effect.provide(PgPool, context)

      // one connection held by a transaction until `release`
      const holding = yield* Deferred.make<undefined>()
      const release = yield* Deferred.make<undefined>()
      const holder = yield* sql
        .withTransaction(Effect.zipRight(sql`SELECT 'holder'`, Effect.zipRight(Deferred.succeed(holding, undefined), Deferred.await(release))))
        .pipe(Effect.fork)
      yield* Deferred.await(holding)

      // the other one runs the query to be interrupted; the next statement waits for a connection
      const interrupted = yield* sql`SELECT pg_sleep(0.4), 'interrupted_query'`.pipe(Effect.fork)
      yield* untilRunning(observer, "interrupted_query")
      const innocent = yield* sql<{ readonly tag: string }>`SELECT pg_sleep(0.6), 'innocent_statement' AS tag`.pipe(Effect.fork)
      yield* Effect.sync(() => pool.waitingCount).pipe(Effect.repeat({ until: (n) => n > 0, schedule: Schedule.spaced(Duration.millis(5)) }))
      yield* Fiber.interruptFork(interrupted)

      // the innocent statement runs on the connection the interrupted query had; then the holder lets go
      yield* untilRunning(observer, "innocent_statement")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)

      const innocentExit = yield* Fiber.await(innocent)
      expect(Exit.isSuccess(innocentExit) ? innocentExit.value.map((r) => r.tag) : String(innocentExit.cause)).toEqual(["innocent_statement"])
      expect(Exit.isInterrupted(yield* Fiber.await(interrupted))).toBe(true)
    }),
    30_000
  )
})
