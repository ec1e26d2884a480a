import { Duration, Option } from "effect"

/**
 * How long POST /api/session/stop waits for the payment before it answers 202 (pure).
 *
 * The client's `Prefer: wait=N` (RFC 7240: seconds) asks for a bound; without it the bound is
 * STOP_WAIT, or else follows the chain's pace: a chain that confirms within a second (a development
 * chain with one confirmation, a node mining a block every few hundred milliseconds) is waited for up to PATIENT, so the answer is
 * the finished payment as on the seed; a slower chain (Sepolia: 12 s blocks, 3 confirmations) not
 * at all (QUICK), so the answer is 202 `settling` as soon as the stop's own transaction is committed.
 * Every bound is capped below the request timeout.
 */

/** The wait on a chain that confirms within a second. */
export const PATIENT = Duration.seconds(10)
/** The wait on a slower chain: none (no stop waits for a block; the payment is followed on GET or the event stream). */
export const QUICK = Duration.zero
/** Left between the longest wait and REQUEST_TIMEOUT, so that the stop answers itself rather than the 503. */
const MARGIN = Duration.seconds(1)

/** The `wait` preference of a Prefer header, in seconds; None when absent or not a number (ignored, as RFC 7240 says). */
export const preferredWait = (header: string | undefined): Option.Option<number> => {
  if (header === undefined) return Option.none()
  for (const preference of header.split(",")) {
    const [token] = preference.split(";")
    const match = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*$/i.exec(token ?? "")
    if (match?.[1] !== undefined) return Option.some(Number(match[1]))
  }
  return Option.none()
}

export interface ChainPace {
  /** A development chain that mines each transaction as it is sent (in-process, or a node of chain 31337). */
  readonly minesOnSend: boolean
  readonly confirmations: number
  /** Observed milliseconds per block; None while unknown (a node that mines on demand looks so). */
  readonly blockInterval: Option.Option<number>
}

/** The wait when the client states none. */
export const defaultWait = (configured: Option.Option<Duration.Duration>, pace: ChainPace): Duration.Duration =>
  Option.getOrElse(configured, () => {
    // one confirmation on a chain that mines on send is the send itself (its observed pace is only idleness)
    if (pace.minesOnSend && pace.confirmations <= 1) return PATIENT
    return Option.match(pace.blockInterval, {
      onNone: () => PATIENT,
      onSome: (ms) => (ms * pace.confirmations <= 1_000 ? PATIENT : QUICK)
    })
  })

/** The bound applied: the preference (or the default), capped below the request timeout. */
export const stopWait = (preferred: Option.Option<number>, fallback: Duration.Duration, requestTimeout: Duration.Duration): Duration.Duration => {
  const cap = Duration.max(Duration.subtract(requestTimeout, MARGIN), Duration.zero)
  return Duration.min(Option.match(preferred, { onNone: () => fallback, onSome: (s) => Duration.seconds(s) }), cap)
}
