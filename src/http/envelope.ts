import { Clock, Effect, Schema } from "effect"

/** The seed's success envelope: `{ success: true, data, timestamp }`. */
export const Envelope = <A, I, R>(data: Schema.Schema<A, I, R>) =>
  Schema.Struct({
    success: Schema.Literal(true),
    data,
    timestamp: Schema.String
  })

/** Wraps handler output in the envelope, stamped by `Clock`. */
export const ok = <A>(data: A): Effect.Effect<{ readonly success: true; readonly data: A; readonly timestamp: string }> =>
  Effect.map(Clock.currentTimeMillis, (ms) => ({ success: true as const, data, timestamp: new Date(ms).toISOString() }))

export const isoNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())
