import { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type pg from "pg"

/**
 * One parameterised query straight through the `pg` pool, for the hottest single-statement reads.
 * Failures are SqlErrors, so `orUnavailable` maps them like any other query's.
 *
 * With a `name`, a named prepared statement: each pooled connection parses and plans it once, then
 * only binds and executes it (no Parse message, and PostgreSQL may keep a generic plan). A name must
 * stand for one text only. (Behind PgBouncer in transaction mode, named statements need 1.21+ with
 * max_prepared_statements set.)
 */
export const rawQuery = <Row extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: ReadonlyArray<unknown>, name?: string) =>
  Effect.tryPromise({
    try: () => pool.query<Row>(name === undefined ? { text, values: [...values] } : { name, text, values: [...values] }),
    catch: (cause) => new SqlError({ cause, message: "query failed" })
  }).pipe(Effect.map((result) => result.rows))

/** One parameterised write straight through the pool; yields how many rows it changed. */
export const rawExecute = (pool: pg.Pool, text: string, values: ReadonlyArray<unknown>) =>
  Effect.tryPromise({
    try: () => pool.query(text, [...values]),
    catch: (cause) => new SqlError({ cause, message: "query failed" })
  }).pipe(Effect.map((result) => result.rowCount ?? 0))
