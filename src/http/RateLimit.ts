import { RateLimiter } from "@effect/experimental"
import * as RateLimiterRedis from "@effect/experimental/RateLimiter/Redis"
import { Clock, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { RedisOptions } from "ioredis"
import { randomUUID } from "node:crypto"
import { AppConfig } from "../config.js"
import { StartupError } from "../platform/StartupError.js"

/**
 * Per-client rate limiting (RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_MS) on @effect/experimental's
 * RateLimiter: its in-memory store for a single instance, its Redis store when REDIS_URL is set, so
 * every instance counts against the same limits.
 *
 * A store failure never takes the API down: the request is let through (fail open) and a warning is
 * logged at most every LOG_EVERY_MS.
 */

export type Decision =
  | { readonly _tag: "Allowed"; readonly limit: number; readonly remaining: number; readonly resetSeconds: number }
  | { readonly _tag: "Limited"; readonly limit: number; readonly retryAfterSeconds: number }
  | { readonly _tag: "Unknown" }

export interface ClientLimiter {
  readonly limit: number
  readonly consume: (client: string) => Effect.Effect<Decision>
}

const LOG_EVERY_MS = 30_000
const REDIS_CALL_TIMEOUT = Duration.millis(500)
const REDIS_STARTUP_TIMEOUT = Duration.seconds(5)

/** ioredis options from a redis:// or rediss:// URL; the URL (it may hold a password) is never logged. */
export const redisOptionsFromUrl = (url: string, prefix: string): Option.Option<RedisOptions & { readonly prefix: string }> => {
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") return Option.none()
    const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0
    return Option.some({
      host: parsed.hostname.length > 0 ? parsed.hostname : "127.0.0.1",
      port: parsed.port.length > 0 ? Number(parsed.port) : 6379,
      ...(parsed.username.length > 0 ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password.length > 0 ? { password: decodeURIComponent(parsed.password) } : {}),
      db: Number.isInteger(db) ? db : 0,
      ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
      prefix,
      connectTimeout: 2_000,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(times * 200, 2_000)
    })
  } catch {
    return Option.none()
  }
}

/** The store: Redis when REDIS_URL is set (and limiting is on), memory otherwise. */
const storeLayer = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const security = config.security
    if (security.rateLimitMaxRequests === 0 || Option.isNone(security.redisUrl)) return RateLimiter.layerStoreMemory
    const options = redisOptionsFromUrl(Redacted.value(security.redisUrl.value), security.rateLimitPrefix)
    if (Option.isNone(options)) {
      return Layer.fail(new StartupError({ reason: "REDIS_URL must be a redis:// or rediss:// URL" }))
    }
    return RateLimiterRedis.layerStore(options.value)
  })
)

const makeLimiter = Effect.gen(function* () {
  const config = yield* AppConfig
  const { rateLimitMaxRequests: limit, rateLimitWindowMs, redisUrl } = config.security
  if (limit === 0) return Option.none<ClientLimiter>()
  const limiter = yield* RateLimiter.RateLimiter
  const shared = Option.isSome(redisUrl)
  // The store refills one request every window/limit; its Redis script fails ("value is not an integer")
  // unless that is a whole number of milliseconds, so the window is rounded up to make it one (by < limit ms).
  const window = Duration.millis(Math.ceil(rateLimitWindowMs / limit) * limit)
  const options = { algorithm: "fixed-window", onExceeded: "fail", window, limit } as const

  if (shared) {
    // the store must answer before the server takes traffic, or every instance would fail open
    yield* limiter.consume({ ...options, key: `startup-probe:${randomUUID()}`, limit: 1, window: Duration.seconds(1) }).pipe(
      Effect.timeoutFail({ duration: REDIS_STARTUP_TIMEOUT, onTimeout: () => "timed out" }),
      Effect.mapError(() => new StartupError({ reason: "REDIS_URL is set but Redis does not answer: rate limits cannot be shared" }))
    )
  }

  let lastWarning = 0
  const unknown: Decision = { _tag: "Unknown" }
  const failOpen = (reason: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (now - lastWarning < LOG_EVERY_MS) return Effect.succeed(unknown)
      lastWarning = now
      return Effect.as(Effect.logWarning("rate limiter store failed: requests are let through", { reason }), unknown)
    })

  const toDecision = (result: RateLimiter.ConsumeResult): Decision => ({
    _tag: "Allowed",
    limit: result.limit,
    remaining: Math.max(0, result.remaining),
    resetSeconds: Math.ceil(Duration.toMillis(result.resetAfter) / 1000)
  })

  const consume = (client: string): Effect.Effect<Decision> => {
    const attempt = limiter.consume({ ...options, key: `ip:${client}` })
    const bounded = shared
      ? Effect.timeoutFail(attempt, {
          duration: REDIS_CALL_TIMEOUT,
          onTimeout: () => new RateLimiter.RateLimitStoreError({ message: "the store did not answer in time" })
        })
      : attempt
    return Effect.matchEffect(bounded, {
      onSuccess: (result) => Effect.succeed(toDecision(result)),
      onFailure: (error): Effect.Effect<Decision> =>
        error.reason === "Exceeded"
          ? Effect.succeed({
              _tag: "Limited",
              limit,
              retryAfterSeconds: Math.max(1, Math.ceil(Duration.toMillis(error.retryAfter) / 1000))
            })
          : failOpen(error.message)
    })
  }

  return Option.some<ClientLimiter>({ limit, consume })
})

/** The limiter (None when RATE_LIMIT_MAX_REQUESTS=0), built with its store; the Redis client lives as long as the scope. */
export const makeClientLimiter = Effect.flatMap(Layer.build(RateLimiter.layer.pipe(Layer.provide(storeLayer))), (context) =>
  Effect.provide(makeLimiter, context)
)
