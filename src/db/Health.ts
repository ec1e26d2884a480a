import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"

/** True when a trivial query answers within two seconds (past them it is left to finish on its own: statements are never cancelled). */
export const databaseReachable = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql`SELECT 1`.pipe(
    Effect.as(true),
    Effect.disconnect,
    Effect.timeoutFail({ duration: Duration.seconds(2), onTimeout: () => "timeout" }),
    Effect.orElseSucceed(() => false)
  )
})
