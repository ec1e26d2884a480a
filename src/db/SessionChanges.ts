import { Context, Deferred, Duration, Effect, Layer, Option, Queue, Schedule, type Scope } from "effect"
import pg from "pg"

/**
 * Which sessions changed, as PostgreSQL tells every instance: a trigger on `sessions` and
 * `settlements` (migration 0011) sends the session's id on CHANNEL at every insert and update, and
 * one connection per process LISTENs there and wakes the subscribers of that id in this process (the
 * event streams, src/session/events.ts). Nothing is lost to a dropped listening connection: the
 * listener connects again and wakes every subscriber, which reads its session once.
 *
 * The embedded database (PGlite behind its socket) is one session shared by every connection: a
 * notification comes back to the connection whose statement caused it, never to the listening one.
 * There changes are not notified: a subscriber is never woken and relies on its (short) poll.
 */
export class SessionChanges extends Context.Tag("payg/SessionChanges")<
  SessionChanges,
  {
    /** How often a subscriber should read its session anyway: a safety net when changes are notified, the pace when not. */
    readonly poll: Duration.Duration
    /**
     * For the scope: an effect that completes at the next change of the session after this call (a
     * change while nobody waits is kept, once, for the next wait).
     */
    readonly subscribe: (sessionId: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  }
>() {}

export const CHANNEL = "payg_session_changed"

/** The safety poll when changes are notified, and the poll of the embedded database (the stream's pace before notifications). */
const NOTIFIED_POLL = Duration.seconds(30)
const UNNOTIFIED_POLL = Duration.millis(250)
/** Pause before the listener connects again after losing its connection. */
const RECONNECT_AFTER = Duration.seconds(1)

/** The subscribers of this process, by session id; `wake` and `wakeAll` never block. */
const makeRegistry = Effect.sync(() => {
  const byId = new Map<string, Set<Queue.Queue<undefined>>>()
  const subscribe = (sessionId: string) =>
    Effect.gen(function* () {
      const signal = yield* Effect.acquireRelease(Queue.sliding<undefined>(1), (q) => Queue.shutdown(q))
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const set = byId.get(sessionId) ?? new Set<Queue.Queue<undefined>>()
          set.add(signal)
          byId.set(sessionId, set)
        }),
        () =>
          Effect.sync(() => {
            const set = byId.get(sessionId)
            set?.delete(signal)
            if (set?.size === 0) byId.delete(sessionId)
          })
      )
      return Queue.take(signal)
    })
  const wake = (sessionId: string) => {
    for (const q of byId.get(sessionId) ?? []) q.unsafeOffer(undefined)
  }
  const wakeAll = () => {
    for (const set of byId.values()) for (const q of set) q.unsafeOffer(undefined)
  }
  return { subscribe, wake, wakeAll }
})

/** One connection LISTENing on CHANNEL until it fails; every notification's payload goes to `wake`. */
const listenOnce = (options: pg.ClientConfig, wake: (sessionId: string) => void, connected: () => void) =>
  Effect.scoped(
    Effect.gen(function* () {
      const lost = yield* Deferred.make<undefined>()
      const client = yield* Effect.acquireRelease(
        Effect.tryPromise(async () => {
          // TCP keep-alive: a connection gone silent ends with an error rather than never notifying again
          const c = new pg.Client({ ...options, keepAlive: true })
          // a failure of the connection ends this listener (and is answered by the next one)
          c.on("error", () => Deferred.unsafeDone(lost, Effect.succeed(undefined)))
          c.on("end", () => Deferred.unsafeDone(lost, Effect.succeed(undefined)))
          await c.connect()
          return c
        }),
        (c) => Effect.promise(() => c.end().catch(() => undefined)).pipe(Effect.timeoutOption(Duration.seconds(2)))
      )
      client.on("notification", (message) => {
        if (message.channel === CHANNEL && message.payload !== undefined) wake(message.payload)
      })
      yield* Effect.tryPromise(() => client.query(`LISTEN ${CHANNEL}`))
      // what changed while nobody listened is read now
      connected()
      yield* Deferred.await(lost)
    })
  )

/** On PostgreSQL: the process's one listener, connecting again whenever it loses its connection. */
export const layerNotified = (options: pg.ClientConfig, poll: Option.Option<Duration.Duration>) =>
  Layer.scoped(
    SessionChanges,
    Effect.gen(function* () {
      const registry = yield* makeRegistry
      yield* listenOnce(options, registry.wake, registry.wakeAll).pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(RECONNECT_AFTER)),
        Effect.forkScoped
      )
      return SessionChanges.of({ poll: Option.getOrElse(poll, () => NOTIFIED_POLL), subscribe: registry.subscribe })
    })
  )

/** On the embedded database: no notifications (a subscriber is never woken), a short poll. */
export const layerPolled = (poll: Option.Option<Duration.Duration>) =>
  Layer.succeed(
    SessionChanges,
    SessionChanges.of({ poll: Option.getOrElse(poll, () => UNNOTIFIED_POLL), subscribe: () => Effect.succeed(Effect.never) })
  )
