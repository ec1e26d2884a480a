import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Duration, Effect, Exit, FiberRef, Option } from "effect"
import { createHash } from "node:crypto"
import { bearerToken } from "../auth/Ownership.js"
import type { Tokens } from "../auth/Tokens.js"
import { seedResponse } from "./errors.js"
import { validationFailed } from "./validation.js"

/**
 * Idempotency keys on POST requests, with Stripe's semantics: a request carrying `Idempotency-Key`
 * is done once; a retry with the same key and the same body gets the first response (status and body,
 * marked `Idempotent-Replayed: true`) without doing the work again, for 24 hours; the same key with a
 * different body is 422; a retry that arrives while the first is still running waits for it. Keys live
 * in PostgreSQL, so every instance sees them.
 *
 * - **Scoped by the caller.** A key belongs to whoever sent it: the address of a valid bearer token, or
 *   "anonymous" for a request without one. The token is checked here, before any key is looked at, so
 *   a request can only ever be answered with a response its own caller was given. A request whose
 *   token is invalid is not idempotent at all: it goes to the app, which refuses it (401).
 * - **Only real answers are kept.** A 401, 403 or 429, a request that failed validation, a 5xx and a
 *   request that never finished (a defect, a timeout) release the key: retrying with it does the work.
 * - **A claim is a lease.** A request holds its key for `lease` (a bit more than REQUEST_TIMEOUT, after
 *   which the pipeline has answered 503 in its place). If its instance dies first, the claim stays "in
 *   progress" only until the lease is over; then a retry takes the key over and does the work (the
 *   settlement's own exactly-once guarantees make a second attempt safe). The claim's time fences the
 *   old holder out: its late answer cannot overwrite the new holder's.
 *
 * The answer is stored in a pre-response handler, the last step before it is written.
 */

const HEADER = "idempotency-key"
const KEY = /^[\x21-\x7e]{1,255}$/
const TTL = Duration.hours(24)
/** How often a retry looks again for the first request's answer, and for how long at most. */
const POLL = Duration.millis(50)
const decoder = new TextDecoder()

/** Statuses that are never replayed: they say nothing about the work, only about this one attempt. */
const notKept = new Set([401, 403, 429])

export interface IdempotencyOptions {
  /** How long a claim holds a key while its request runs. */
  readonly lease: Duration.Duration
  /** How long a retry waits for a claim still running before it answers 409. */
  readonly maxWait: Duration.Duration
  readonly tokens: Tokens["Type"]
}

/** A claim's lease and a retry's wait from REQUEST_TIMEOUT: see docs/RELIABILITY.md. */
export const leaseFor = (requestTimeout: Duration.Duration) => ({
  lease: Duration.sum(requestTimeout, Duration.seconds(10)),
  maxWait: Duration.min(Duration.seconds(10), Duration.times(requestTimeout, 0.5))
})

interface Stored {
  readonly requestHash: string
  readonly statusCode: number | null
  readonly responseBody: string | null
  readonly createdAt: Date
}

/** True when a response must not be kept for replay: a refusal of this attempt, not an answer about the work. */
const isNotKept = (response: HttpServerResponse.HttpServerResponse): Effect.Effect<boolean> =>
  response.status >= 500 || notKept.has(response.status) ? Effect.succeed(true) : FiberRef.get(validationFailed)

const replay = (row: Stored) =>
  HttpServerResponse.text(row.responseBody ?? "", {
    status: row.statusCode ?? 200,
    contentType: "application/json",
    headers: { "idempotent-replayed": "true" }
  })

/**
 * Who sent the request: the address of its valid bearer token, "anonymous" without an Authorization
 * header, None when it has one that does not authenticate (the app answers that request itself).
 */
const callerOf = (tokens: Tokens["Type"], authorization: string | undefined): Effect.Effect<Option.Option<string>> => {
  if (authorization === undefined || authorization.length === 0) return Effect.succeed(Option.some("anonymous"))
  const token = bearerToken(authorization)
  if (token === undefined) return Effect.succeed(Option.none())
  return Effect.option(tokens.verify(token))
}

/** The scope a key lives in: the caller, the method and the path. */
export const keyScope = (caller: string, method: string, path: string): string => `${caller} ${method} ${path}`

/** What a retry must repeat exactly to be answered from the key: its scope and its body. */
export const requestHash = (scope: string, body: string): string =>
  createHash("sha256").update(scope).update("\n").update(body).digest("hex")

/**
 * Claims a key at `now`: a new key, one whose 24 hours are over, or one whose holder's lease lapsed
 * before it answered. True when this request now holds it.
 */
export const claimKey = (
  sql: SqlClient.SqlClient,
  claim: { readonly scope: string; readonly key: string; readonly hash: string; readonly now: number; readonly lease: Duration.Duration }
) => {
  const expired = new Date(claim.now - Duration.toMillis(TTL))
  const lapsed = new Date(claim.now - Duration.toMillis(claim.lease))
  return sql`
    INSERT INTO idempotency_keys (key, scope, request_hash, created_at)
    VALUES (${claim.key}, ${claim.scope}, ${claim.hash}, ${new Date(claim.now)})
    ON CONFLICT (scope, key) DO UPDATE
      SET request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at,
          status_code = NULL, response_body = NULL, completed_at = NULL
      WHERE idempotency_keys.created_at < ${expired}
         OR (idempotency_keys.completed_at IS NULL AND idempotency_keys.created_at < ${lapsed})
    RETURNING key`.pipe(Effect.map((rows) => rows.length > 0))
}

export const idempotency = (options: IdempotencyOptions) => {
  /** A POST carrying an Idempotency-Key. */
  const keyed = <E, R>(request: HttpServerRequest.HttpServerRequest, key: string, app: HttpApp.Default<E, R>) =>
    Effect.gen(function* () {
      if (!KEY.test(key)) return yield* seedResponse(400, "Idempotency-Key must be 1 to 255 printable ASCII characters")
      // authentication first: a key is looked at only for a caller it could belong to
      const caller = yield* callerOf(options.tokens, request.headers["authorization"])
      if (Option.isNone(caller)) return yield* app
      const body = yield* Effect.option(request.text)
      if (Option.isNone(body)) return yield* app // unreadable body: let the app answer as usual
      const sql = yield* SqlClient.SqlClient
      const scope = keyScope(caller.value, request.method, request.url.split("?")[0] ?? "")
      const hash = requestHash(scope, body.value)
      const started = yield* Clock.currentTimeMillis
      const deadline = started + Duration.toMillis(options.maxWait)

      /** The work, done by the holder of the claim made at `claimedAt` (its fencing token). */
      const work = (claimedAt: Date) => {
        const mine = sql`scope = ${scope} AND key = ${key} AND created_at = ${claimedAt} AND completed_at IS NULL`
        const release = sql`DELETE FROM idempotency_keys WHERE ${mine}`
        return Effect.gen(function* () {
          // store the answer in the last step before it is written, so a retry that follows the response
          // always finds it; an answer that says nothing about the work keeps nothing (like Stripe)
          yield* HttpApp.appendPreResponseHandler((_request, response) =>
            Effect.gen(function* () {
              if (yield* isNotKept(response)) {
                yield* release
                return response
              }
              const text = response.body._tag === "Uint8Array" ? decoder.decode(response.body.body) : ""
              const done = yield* Clock.currentTimeMillis
              yield* sql`
                UPDATE idempotency_keys SET status_code = ${response.status}, response_body = ${text}, completed_at = ${new Date(done)}
                WHERE ${mine}`
              return response
            }).pipe(Effect.catchAll((e) => Effect.as(Effect.logWarning("idempotency key not stored", { reason: e.message }), response)))
          )
          // a failure, a defect or an interruption (REQUEST_TIMEOUT) answers nothing worth keeping
          return yield* Effect.onExit(app, (exit) => (Exit.isFailure(exit) ? Effect.ignore(release) : Effect.void))
        })
      }

      const read = sql<Stored>`
        SELECT request_hash AS "requestHash", status_code AS "statusCode", response_body AS "responseBody", created_at AS "createdAt"
        FROM idempotency_keys WHERE scope = ${scope} AND key = ${key}`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

      const attempt: Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        E | SqlError,
        R | SqlClient.SqlClient | HttpServerRequest.HttpServerRequest
      > = Effect.gen(
        function* () {
          const now = yield* Clock.currentTimeMillis
          if (yield* claimKey(sql, { scope, key, hash, now, lease: options.lease })) return yield* work(new Date(now))
          // someone else holds the key: the same request must match, then wait for its answer
          const held = yield* read
          if (Option.isSome(held) && held.value.requestHash !== hash) {
            return yield* seedResponse(422, "this Idempotency-Key was already used with a different request")
          }
          if (Option.isSome(held) && held.value.statusCode !== null) return replay(held.value)
          if (now >= deadline) {
            const lapses = Option.match(held, { onNone: () => now, onSome: (r) => r.createdAt.getTime() + Duration.toMillis(options.lease) })
            const retryIn = Math.max(1, Math.ceil((lapses - now) / 1000))
            return yield* seedResponse(409, `a request with this Idempotency-Key is still in progress; retry in ${retryIn} s`, {
              "retry-after": String(retryIn)
            })
          }
          // still running (or released just now, or its lease is about to lapse): look again, claim again
          yield* Effect.sleep(POLL)
          return yield* attempt
        }
      )
      return yield* attempt.pipe(Effect.catchTag("SqlError", () => seedResponse(503, "the database is unavailable; the request was not processed")))
    })

  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | SqlClient.SqlClient> =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const key = request.headers[HEADER]
      return request.method !== "POST" || key === undefined ? app : keyed(request, key, app)
    })
}
