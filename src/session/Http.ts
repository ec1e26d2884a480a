import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Clock, Duration, Effect, Option } from "effect"
import { PaygApi } from "../Api.js"
import { Caller } from "../auth/Caller.js"
import { ChainView } from "../chain/ChainView.js"
import { AppConfig } from "../config.js"
import { SessionChanges } from "../db/SessionChanges.js"
import { ok } from "../http/envelope.js"
import { BadRequest } from "../http/errors.js"
import { httpErrors } from "../http/mapErrors.js"
import { Chain } from "../domain/Chain.js"
import { Sessions } from "./Sessions.js"
import { quoted } from "./quoteView.js"
import { sessionEvents } from "./events.js"
import { defaultWait, preferredWait, stopWait } from "./stopWait.js"
import * as View from "./views.js"

export const SessionHttp = HttpApiBuilder.group(PaygApi, "session", (handlers) =>
  Effect.gen(function* () {
    const sessions = yield* Sessions
    const view = yield* ChainView
    const config = yield* AppConfig
    const changes = yield* SessionChanges
    const now = Clock.currentTimeMillis
    const inProcess = (yield* Chain).binding.kind === "in-process"
    const chainId = (yield* Chain).binding.chainId
    const confirmations = Option.getOrElse(config.chain.confirmations, () => (inProcess || chainId === 31337 ? 1 : 3))
    /** The stop's wait when the client states none: STOP_WAIT, else by the pace the chain view observes. */
    const fallbackWait = Effect.map(view.blockInterval, (blockInterval) =>
      defaultWait(config.slowChain.stopWait, { minesOnSend: inProcess || chainId === 31337, confirmations, blockInterval })
    )
    return handlers
      .handle("quote", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(payload.userAddress)
          const q = yield* sessions.quote(user, payload.contentId)
          return yield* ok(quoted(q))
        }).pipe(httpErrors)
      )
      .handle("start", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(payload.userAddress)
          const signed = Option.map(Option.fromNullable(payload.authorization), (a) => ({ ...a, deadline: BigInt(a.deadline) }))
          const { content, session } = yield* sessions.start(user, payload.contentId, signed)
          return yield* ok({
            sessionId: session.id,
            status: "active" as const,
            startTime: new Date(session.clock.startedAt).toISOString(),
            estimatedCost: content.fullPrice,
            content: View.contentSummary(session),
            settlementKey: session.settlementKey.toString()
          })
        }).pipe(httpErrors)
      )
      .handle("pause", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(payload.userAddress)
          const s = yield* sessions.pause(payload.sessionId, { _tag: "User", address: user })
          const t = View.timing(s, s.clock.segmentStartedAt)
          return yield* ok({
            sessionId: s.id,
            status: "paused" as const,
            pausedAt: new Date(s.clock.segmentStartedAt).toISOString(),
            activeDuration: t.activeDuration,
            currentCost: t.currentCost
          })
        }).pipe(httpErrors)
      )
      .handle("resume", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(payload.userAddress)
          const s = yield* sessions.resume(payload.sessionId, { _tag: "User", address: user })
          return yield* ok({
            sessionId: s.id,
            status: "active" as const,
            resumedAt: new Date(s.clock.segmentStartedAt).toISOString(),
            totalPausedDuration: Math.floor(s.clock.pausedMs / 1000)
          })
        }).pipe(httpErrors)
      )
      .handle("heartbeat", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(payload.userAddress)
          const s = yield* sessions.heartbeat(payload.sessionId, { _tag: "User", address: user })
          const at = s.clock.lastHeartbeatAt ?? (yield* now)
          const t = View.timing(s, at)
          return yield* ok({
            sessionId: s.id,
            status: s.clock.status === "PAUSED" ? ("paused" as const) : ("active" as const),
            lastHeartbeatAt: new Date(at).toISOString(),
            billableUntil: new Date(s.clock.liveUntil ?? at).toISOString(),
            activeDuration: t.activeDuration,
            currentCost: t.currentCost
          })
        }).pipe(httpErrors)
      )
      .handle("stop", ({ payload, request }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(payload.userAddress)
          const preferred = preferredWait(request.headers["prefer"])
          const wait = stopWait(preferred, yield* fallbackWait, config.security.requestTimeout)
          if (Option.isSome(preferred)) {
            const applied = `wait=${Math.floor(Duration.toSeconds(wait))}`
            yield* HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(HttpServerResponse.setHeader(response, "preference-applied", applied)))
          }
          const s = yield* sessions.stop(payload.sessionId, { _tag: "User", address: user }, Option.fromNullable(payload.txHash), Option.some(wait))
          const stopped = View.stopped(s)
          // the schema union answers 202 for "settling" (the payment in flight), 200 once the session is over
          return stopped.status === "settling" ? yield* ok(stopped) : yield* ok(stopped)
        }).pipe(httpErrors)
      )
      .handle("get", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(urlParams.userAddress)
          const s = yield* sessions.get(path.sessionId, { _tag: "User", address: user })
          return yield* ok(View.detail(s, yield* now))
        }).pipe(httpErrors)
      )
      .handle("events", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(urlParams.userAddress)
          const s = yield* sessions.get(path.sessionId, { _tag: "User", address: user })
          const read = sessions.get(path.sessionId, { _tag: "User", address: user })
          return HttpServerResponse.stream(sessionEvents(s, read, changes.subscribe(path.sessionId), changes.poll), {
            contentType: "text/event-stream",
            // no-transform: a proxy must neither buffer nor compress the stream
            headers: { "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" }
          })
        }).pipe(httpErrors)
      )
      .handle("active", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(path.userAddress)
          const list = yield* sessions.active(user)
          return yield* ok(list.map(View.activeItem))
        }).pipe(httpErrors)
      )
      .handle("history", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const user = yield* (yield* Caller).actingFor(path.userAddress)
          const limit = urlParams.limit ?? 50
          const before = urlParams.cursor === undefined ? Option.none() : View.decodeCursor(urlParams.cursor)
          if (urlParams.cursor !== undefined && Option.isNone(before)) return yield* new BadRequest({ message: "cursor is not valid" })
          const page = yield* sessions.history(user, limit + 1, before)
          const at = yield* now
          const items = page.slice(0, limit)
          const last = items[items.length - 1]
          const body = yield* ok(items.map((s) => View.historyItem(s, at)))
          return { ...body, nextCursor: page.length > limit && last ? View.encodeCursor(last) : null }
        }).pipe(httpErrors)
      )
  })
)
