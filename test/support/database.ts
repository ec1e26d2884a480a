import { Effect, Option } from "effect"
import pg from "pg"
import { randomBytes } from "node:crypto"

/**
 * A fresh, empty database for one test file: on the PostgreSQL server named by TEST_DATABASE_URL
 * (created now, dropped at the end), or None when it is unset (the app then uses an in-memory PGlite).
 */
export const freshDatabaseUrl = Effect.gen(function* () {
  const admin = process.env.TEST_DATABASE_URL
  if (!admin) return Option.none<string>()
  const name = `payg_t_${process.pid}_${randomBytes(4).toString("hex")}`
  const run = (statement: string) =>
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: admin })
      await client.connect()
      try {
        await client.query(statement)
      } finally {
        await client.end()
      }
    })
  yield* Effect.acquireRelease(run(`CREATE DATABASE ${name}`), () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore))
  const url = new URL(admin)
  url.pathname = `/${name}`
  return Option.some(url.toString())
})

/**
 * A database of its own on the real PostgreSQL server (TEST_DATABASE_URL, or the machine's own at
 * 127.0.0.1:5432), dropped at the end of the scope: for tests that need several processes on one database.
 */
export const scratchDatabase = (name: string) => {
  const admin = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
  const run = (statement: string) =>
    Effect.promise(async () => {
      const c = new pg.Client({ connectionString: admin })
      await c.connect()
      await c.query(statement).finally(() => c.end())
    })
  return Effect.acquireRelease(run(`CREATE DATABASE ${name}`), () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore)).pipe(
    Effect.as(Object.assign(new URL(admin), { pathname: `/${name}` }).toString())
  )
}
