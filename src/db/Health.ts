import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"

/** True when a trivial query answers within two seconds. */
export const databaseReachable = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql`SELECT 1`.pipe(
    Effect.as(true),
    Effect.timeoutFail({ duration: Duration.seconds(2), onTimeout: () => "timeout" }),
    Effect.orElseSucceed(() => false)
  )
})
