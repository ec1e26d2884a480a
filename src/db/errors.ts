import type { SqlError } from "@effect/sql/SqlError"
import type { Cause, ParseResult } from "effect"
import { Effect } from "effect"
import { DatabaseUnavailable } from "../domain/errors.js"

const connectionCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"])

const describe = (cause: unknown): { code: string | undefined; message: string } => {
  if (typeof cause === "object" && cause !== null) {
    const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined
    const message = "message" in cause && typeof cause.message === "string" ? cause.message : String(cause)
    return { code, message }
  }
  return { code: undefined, message: String(cause) }
}

/** True when an SQL failure means the database cannot be reached (as opposed to a bad query). */
export const isConnectionFailure = (error: SqlError): boolean => {
  const { code, message } = describe(error.cause)
  if (code !== undefined && connectionCodes.has(code)) return true
  return /connect|connection|terminat|timeout|timed out|socket|pool|ECONN/i.test(`${message} ${error.message}`)
}

/**
 * The service boundary for SQL: an unreachable database becomes `DatabaseUnavailable` (503, transient);
 * anything else (a bad statement, a row its schema does not decode, no row from a statement that always
 * returns one) is a bug and becomes a defect.
 */
export const orUnavailable = <A, R>(
  effect: Effect.Effect<A, SqlError | ParseResult.ParseError | Cause.NoSuchElementException, R>
): Effect.Effect<A, DatabaseUnavailable, R> =>
  Effect.catchAll(effect, (e) =>
    e._tag === "SqlError" && isConnectionFailure(e) ? Effect.fail(new DatabaseUnavailable({ reason: "connection failed" })) : Effect.die(e)
  )
