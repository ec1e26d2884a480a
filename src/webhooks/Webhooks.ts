import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Context, Duration, Effect, Layer, Option, Random, Redacted, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { AppConfig } from "../config.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { StartupError } from "../platform/StartupError.js"
import { eventBody, eventTypeOf, retryDelayMs } from "./events.js"
import { type ClaimedEvent, WebhookRepo, WebhookRepoPg } from "./WebhookRepo.js"
import { SIGNATURE_HEADER, signWebhook } from "./signature.js"

/** Where and how events are delivered (from AppConfig's `webhooks`, WEBHOOK_* variables). */
export interface WebhookSettings {
  readonly url: string
  readonly secret: Redacted.Redacted
  readonly timeout: Duration.Duration
  readonly maxAttempts: number
  readonly backoff: Duration.Duration
  readonly backoffMax: Duration.Duration
}

export interface DispatchReport {
  /** Events made in this pass (sessions newly finished). */
  readonly created: number
  readonly delivered: number
  /** Attempts that failed and will be retried. */
  readonly retrying: number
  readonly gaveUp: number
}

/** Late commits the scan still looks back for: a session changed this long before the last scan mark. */
const SCAN_OVERLAP_MS = 10 * 60_000
const SCAN_LIMIT = 200
const CLAIM_LIMIT = 50
const DELIVERY_CONCURRENCY = 4

/** The settlement webhooks' dispatcher: makes events from finished sessions and delivers them. */
export class Webhooks extends Context.Tag("payg/Webhooks")<
  Webhooks,
  {
    /** One pass: records an event for every newly finished session, then attempts every due event once. */
    readonly dispatch: Effect.Effect<DispatchReport, DatabaseUnavailable>
  }
>() {}

const newEventId = Effect.sync(() => `evt_${randomBytes(12).toString("hex")}`)

/** Why a delivery did not succeed, in one line (never the URL or the secret). */
const failureReason = (e: { readonly _tag: string; readonly message?: string }): string => {
  if (e._tag === "TimeoutException") return "no answer in time"
  return `request failed (${e._tag}${e.message ? `: ${e.message.split("\n")[0] ?? ""}` : ""})`
}

/**
 * The dispatcher over `settings`, the webhook outbox and an HTTP client. Every instance may run one:
 * making an event is an insert that a second dispatcher's duplicate skips, and a delivery attempt
 * claims its event first (FOR UPDATE SKIP LOCKED, then a lease of the timeout and a margin).
 */
export const makeWebhooks = (settings: WebhookSettings) =>
  Effect.gen(function* () {
    const repo = yield* WebhookRepo
    const http = yield* HttpClient.HttpClient
    const secret = Redacted.value(settings.secret)
    const leaseMs = Duration.toMillis(settings.timeout) + 30_000

    const discover = Effect.gen(function* () {
      const sessions = yield* repo.finishedWithoutEvent(SCAN_OVERLAP_MS, SCAN_LIMIT)
      const last = sessions.at(-1)
      if (last === undefined) return 0
      const now = yield* Clock.currentTimeMillis
      const events = yield* Effect.forEach(sessions, (s) =>
        Effect.map(newEventId, (id) => ({ id, sessionId: s.sessionId, type: eventTypeOf(s.status), payload: eventBody(id, now, s), createdAt: now }))
      )
      yield* repo.record(events, last.updatedAt)
      return events.length
    })

    const post = (event: ClaimedEvent) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const request = HttpClientRequest.post(settings.url).pipe(
          HttpClientRequest.setHeaders({
            [SIGNATURE_HEADER]: signWebhook(secret, Math.floor(now / 1000), event.payload),
            "Payg-Event-Id": event.id,
            "Payg-Event-Type": event.type,
            "User-Agent": "payg-webhooks"
          }),
          HttpClientRequest.bodyText(event.payload, "application/json")
        )
        const status = yield* http.execute(request).pipe(
          Effect.tap((res) => res.text.pipe(Effect.ignore)),
          Effect.map((res) => res.status),
          Effect.scoped,
          Effect.timeout(settings.timeout),
          Effect.mapError(failureReason)
        )
        return status >= 200 && status < 300 ? Option.none<string>() : Option.some(`HTTP ${status}`)
      }).pipe(Effect.catchAll((reason) => Effect.succeed(Option.some(reason))))

    const attempt = (event: ClaimedEvent) =>
      Effect.gen(function* () {
        const outcome = yield* post(event)
        const now = yield* Clock.currentTimeMillis
        if (Option.isNone(outcome)) return (yield* repo.delivered(event, now)) ? ("delivered" as const) : ("lost" as const)
        const reason = outcome.value
        const giveUp = event.attempts >= settings.maxAttempts
        const retryAt = giveUp
          ? null
          : now + retryDelayMs(event.attempts, Duration.toMillis(settings.backoff), Duration.toMillis(settings.backoffMax), yield* Random.next)
        yield* repo.failed(event, giveUp ? `gave up after ${event.attempts} attempts: ${reason}` : reason, retryAt)
        if (giveUp) yield* Effect.logWarning("webhook event given up", { eventId: event.id, type: event.type, attempts: event.attempts, reason })
        return giveUp ? ("gaveUp" as const) : ("retrying" as const)
      }).pipe(Effect.withSpan("Webhooks.deliver", { attributes: { eventId: event.id } }))

    const dispatch = Effect.gen(function* () {
      const created = yield* discover
      const now = yield* Clock.currentTimeMillis
      const due = yield* repo.claimDue(now, now + leaseMs, CLAIM_LIMIT)
      const outcomes = yield* Effect.forEach(due, attempt, { concurrency: DELIVERY_CONCURRENCY })
      const count = (o: (typeof outcomes)[number]) => outcomes.filter((x) => x === o).length
      return { created, delivered: count("delivered"), retrying: count("retrying"), gaveUp: count("gaveUp") }
    }).pipe(Effect.withSpan("Webhooks.dispatch"))

    return Webhooks.of({ dispatch })
  })

/** The settings, when WEBHOOK_URL is set; a URL without WEBHOOK_SECRET refuses to start (events are always signed). */
export const settingsFromConfig = Effect.gen(function* () {
  const c = (yield* AppConfig).webhooks
  if (Option.isNone(c.url)) return Option.none<WebhookSettings>()
  if (Option.isNone(c.secret)) return yield* new StartupError({ reason: "WEBHOOK_SECRET is required when WEBHOOK_URL is set: every event is signed" })
  return Option.some({ url: c.url.value, secret: c.secret.value, timeout: c.timeout, maxAttempts: c.maxAttempts, backoff: c.backoff, backoffMax: c.backoffMax })
})

/**
 * The dispatcher running in the background every WEBHOOK_INTERVAL, when WEBHOOK_URL is set (else
 * nothing runs and no events are made). Its HTTP client is its own (fetch), not the app's.
 */
export const WebhooksBackground = Layer.scopedDiscard(
  Effect.gen(function* () {
    const settings = yield* settingsFromConfig
    if (Option.isNone(settings)) return
    const every = (yield* AppConfig).webhooks.interval
    yield* Effect.flatMap(Clock.currentTimeMillis, (yield* WebhookRepo).enable)
    const webhooks = yield* makeWebhooks(settings.value).pipe(Effect.provide(FetchHttpClient.layer))
    yield* webhooks.dispatch.pipe(
      Effect.tap((r) => (r.created + r.delivered + r.retrying + r.gaveUp > 0 ? Effect.logDebug("webhooks dispatched", r) : Effect.void)),
      Effect.catchAllCause((cause) => Effect.logWarning("webhook dispatch failed", cause)),
      Effect.repeat(Schedule.spaced(every)),
      Effect.forkScoped
    )
  })
)

/** The webhooks feature: its repository and the background dispatcher; needs SqlClient and AppConfig. */
export const WebhooksLive = WebhooksBackground.pipe(Layer.provideMerge(WebhookRepoPg))
