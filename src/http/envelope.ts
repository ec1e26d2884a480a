import { Clock, Effect, Schema } from "effect"

/** An ISO 8601 instant on the wire (`2026-01-31T12:00:00.000Z`). */
export const Timestamp = Schema.String.annotations({
  jsonSchema: { type: "string", format: "date-time", examples: ["2026-01-31T12:00:00.000Z"] }
})

/** A `Date` on the wire: its ISO 8601 form. */
export const DateTime = Schema.Date.annotations({
  jsonSchema: { type: "string", format: "date-time", examples: ["2026-01-31T12:00:00.000Z"] }
})

/** A token amount on the wire: a decimal string of the smallest unit (digits only, no sign, no decimals). */
export const AmountJsonSchema = {
  jsonSchema: {
    type: "string",
    pattern: "^[0-9]{1,78}$",
    description: "Token amount in the smallest unit (USDC has 6 decimals), as a decimal string",
    examples: ["10000000"]
  }
} as const

/** The seed's success envelope: `{ success: true, data, timestamp }`. */
export const Envelope = <A, I, R>(data: Schema.Schema<A, I, R>) =>
  Schema.Struct({
    success: Schema.Literal(true),
    data,
    timestamp: Timestamp
  })

/** Wraps handler output in the envelope, stamped by `Clock`. */
export const ok = <A>(data: A): Effect.Effect<{ readonly success: true; readonly data: A; readonly timestamp: string }> =>
  Effect.map(Clock.currentTimeMillis, (ms) => ({ success: true as const, data, timestamp: new Date(ms).toISOString() }))

export const isoNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())
