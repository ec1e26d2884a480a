import { Clock, Context, Duration, Effect, Layer } from "effect"

/**
 * A Clock for integration tests: the real time plus an offset the test moves forward. Sleeps are real
 * (the app's background work and timeouts keep running), but every timestamp the app reads can be
 * shifted, so "watch for 30 minutes" takes no time.
 */
export class TimeTravel extends Context.Tag("test/TimeTravel")<
  TimeTravel,
  { readonly advance: (by: Duration.DurationInput) => Effect.Effect<void>; readonly offsetMs: () => number }
>() {}

export const TimeTravelLive = Layer.unwrapEffect(
  Effect.sync(() => {
    const live = Clock.make()
    let offset = 0
    const nowMs = () => live.unsafeCurrentTimeMillis() + offset
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
      offsetMs: () => offset
    })
    return Layer.merge(Layer.setClock(shifted), Layer.succeed(TimeTravel, travel))
  })
)
