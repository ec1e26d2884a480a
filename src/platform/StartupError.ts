import { Cause, Option, Schema } from "effect"
import { describeConfigError, isConfigError } from "../config.js"

/** A reason the server refuses to start, said in one line. */
export class StartupError extends Schema.TaggedError<StartupError>()("StartupError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** The single line printed when start-up fails: no stack trace, no secret. */
export const startupFailureLine = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (isConfigError(e)) return `payg: invalid configuration: ${describeConfigError(e)}`
    if (e instanceof StartupError) return `payg: cannot start: ${e.reason}`
    if (typeof e === "object" && e !== null && "message" in e && typeof e.message === "string") return `payg: cannot start: ${e.message}`
    return `payg: cannot start: ${String(e)}`
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    const d = defect.value
    if (isConfigError(d)) return `payg: invalid configuration: ${describeConfigError(d)}`
    if (d instanceof StartupError) return `payg: cannot start: ${d.reason}`
    return `payg: cannot start: ${d instanceof Error ? d.message : String(d)}`
  }
  return "payg: stopped"
}
