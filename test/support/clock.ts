import { Clock, Context, Duration, Effect, Layer } from "effect"

/**
 * A Clock for integration tests: the real time plus an offset the test moves forward. Sleeps are real
 * (the app's background work and timeouts keep running), but every timestamp the app reads can be
 * shifted, so "watch for 30 minutes" takes no time.
 */
export class TimeTravel extends Context.Tag("test/TimeTravel")<
  TimeTravel,
  {
    readonly advance: (by: Duration.DurationInput) => Effect.Effect<void>
    readonly offsetMs: () => number
    /**
     * Runs `effect` with the app's time standing still except for `advance`: a test that asserts exact
     * durations or costs is then not moved by the real seconds a loaded machine spends between its
     * requests. Sleeps stay real.
     */
    readonly frozen: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  }
>() {}

export const TimeTravelLive = Layer.unwrapEffect(
  Effect.sync(() => {
    const live = Clock.make()
    let offset = 0
    let frozenAt: number | undefined
    const nowMs = () => (frozenAt ?? live.unsafeCurrentTimeMillis()) + offset
    const shifted: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: nowMs,
      currentTimeMillis: Effect.sync(nowMs),
      unsafeCurrentTimeNanos: () => BigInt(nowMs()) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(nowMs()) * 1_000_000n),
      sleep: (d) => live.sleep(d)
    }
    const travel = TimeTravel.of({
      advance: (by) =>
        Effect.sync(() => {
          offset += Duration.toMillis(Duration.decode(by))
        }),
      offsetMs: () => offset,
      frozen: (effect) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            frozenAt = live.unsafeCurrentTimeMillis()
          }),
          () => effect,
          () =>
            Effect.sync(() => {
              // the clock goes on from where it stood, so it never runs backwards for the app
              if (frozenAt !== undefined) offset += frozenAt - live.unsafeCurrentTimeMillis()
              frozenAt = undefined
            })
        )
    })
    return Layer.merge(Layer.setClock(shifted), Layer.succeed(TimeTravel, travel))
  })
)
