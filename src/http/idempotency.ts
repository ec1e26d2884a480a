import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Duration, Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { seedError } from "./errors.js"
import { VALIDATION_FAILED } from "./seedErrors.js"

/**
 * Idempotency keys on POST requests, with Stripe's semantics: a request carrying `Idempotency-Key`
 * is done once; a retry with the same key and the same body gets the first response (status and body,
 * marked `Idempotent-Replayed: true`) without doing the work again, for 24 hours; the same key with a
 * different body is 422; a retry that arrives while the first is still running waits for it. Keys live
 * in PostgreSQL, so every instance sees them. A request that failed validation or ended in a 5xx
 * releases its key. The answer is stored in a pre-response handler, the last step before it is written.
 */

const HEADER = "idempotency-key"
const KEY = /^[\x21-\x7e]{1,255}$/
const TTL = Duration.hours(24)
const decoder = new TextDecoder()

const respond = (status: number, message: string) =>
  Effect.map(Clock.currentTimeMillis, (now) => HttpServerResponse.unsafeJson(seedError(status, message, now), { status }))

interface Stored {
  readonly requestHash: string
  readonly statusCode: number | null
  readonly responseBody: string | null
}

/**
 * A request that failed validation. The response seen here is already in the seed format (the pipeline's
 * pre-response handler runs first), so it is known by its message.
 */
const isValidationFailure = (response: HttpServerResponse.HttpServerResponse): boolean => {
  if (response.status !== 400 || response.body._tag !== "Uint8Array") return false
  try {
    const body: unknown = JSON.parse(decoder.decode(response.body.body))
    return typeof body === "object" && body !== null && "message" in body && typeof body.message === "string" && body.message.startsWith(VALIDATION_FAILED)
  } catch {
    return false
  }
}

const replay = (row: Stored) =>
  HttpServerResponse.text(row.responseBody ?? "", {
    status: row.statusCode ?? 200,
    contentType: "application/json",
    headers: { "idempotent-replayed": "true" }
  })

export const idempotency = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const key = request.headers[HEADER]
    if (request.method !== "POST" || key === undefined) return yield* app
    if (!KEY.test(key)) return yield* respond(400, "Idempotency-Key must be 1 to 255 printable ASCII characters")
    const body = yield* Effect.option(request.text)
    if (Option.isNone(body)) return yield* app // unreadable body: let the app answer as usual
    const sql = yield* SqlClient.SqlClient
    const scope = `${request.method} ${request.url.split("?")[0] ?? ""}`
    const hash = createHash("sha256").update(scope).update("\n").update(body.value).digest("hex")
    const now = yield* Clock.currentTimeMillis
    const expired = new Date(now - Duration.toMillis(TTL))

    const work = Effect.gen(function* () {
      // claim the key: a new key, or one whose 24 hours are over
      const claimed = yield* sql`
        INSERT INTO idempotency_keys (key, scope, request_hash, created_at)
        VALUES (${key}, ${scope}, ${hash}, ${new Date(now)})
        ON CONFLICT (scope, key) DO UPDATE
          SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at,
              status_code = NULL, response_body = NULL, completed_at = NULL
          WHERE idempotency_keys.created_at < ${expired}
        RETURNING key`
      if (claimed.length > 0) {
        // store the answer in the last step before it is written, so a retry that follows the response
        // always finds it; a request that failed validation or ended in a 5xx keeps nothing (like Stripe)
        const release = sql`DELETE FROM idempotency_keys WHERE scope = ${scope} AND key = ${key}`
        yield* HttpApp.appendPreResponseHandler((_request, response) =>
          Effect.gen(function* () {
            if (response.status >= 500 || isValidationFailure(response)) {
              yield* release
              return response
            }
            const text = response.body._tag === "Uint8Array" ? decoder.decode(response.body.body) : ""
            const done = yield* Clock.currentTimeMillis
            yield* sql`
              UPDATE idempotency_keys SET status_code = ${response.status}, response_body = ${text}, completed_at = ${new Date(done)}
              WHERE scope = ${scope} AND key = ${key}`
            return response
          }).pipe(
            Effect.catchAll((e) => Effect.as(Effect.logWarning("idempotency key not stored", { reason: e.message }), response))
          )
        )
        const exit = yield* Effect.exit(app)
        if (exit._tag === "Failure") yield* release.pipe(Effect.ignore)
        return yield* exit
      }
      // someone else holds the key: the same request must match, then wait for its answer
      const read = sql<Stored>`
        SELECT request_hash AS "requestHash", status_code AS "statusCode", response_body AS "responseBody"
        FROM idempotency_keys WHERE scope = ${scope} AND key = ${key}`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))
      const first = yield* read
      if (Option.isNone(first)) return yield* respond(409, "a request with this Idempotency-Key failed just now; retry")
      if (first.value.requestHash !== hash) {
        return yield* respond(422, "this Idempotency-Key was already used with a different request")
      }
      const waitFor = (attempt: number): Effect.Effect<Option.Option<Stored>, SqlError> =>
        Effect.flatMap(read, (r) =>
          Option.isNone(r) || r.value.statusCode !== null || attempt >= 200
            ? Effect.succeed(r)
            : Effect.zipRight(Effect.sleep(Duration.millis(50)), waitFor(attempt + 1))
        )
      const finished = yield* waitFor(0)
      if (Option.isSome(finished) && finished.value.statusCode !== null) return replay(finished.value)
      return yield* respond(409, "a request with this Idempotency-Key is still in progress; retry later")
    })
    return yield* work.pipe(
      Effect.catchTag("SqlError", () => respond(503, "the database is unavailable; the request was not processed"))
    )
  })
