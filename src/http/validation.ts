import { HttpApiBuilder, HttpApiError } from "@effect/platform"
import { Cause, Effect, FiberRef } from "effect"
import { globalValue } from "effect/GlobalValue"
import { seedResponse } from "./errors.js"

/**
 * Requests that fail validation (the schema of a path, query, header or body). The router's decode
 * failure, a typed `HttpApiDecodeError`, is answered here as a 400 in the seed's format with a message
 * in plain words, and the request's fiber is marked: idempotency never keeps such an answer.
 */

/** How the message of every request that failed validation begins. */
export const VALIDATION_FAILED = "invalid request"

/** True on a request's fiber once its input failed validation. */
export const validationFailed = globalValue("payg/validationFailed", () => FiberRef.unsafeMake(false))

type Issue = HttpApiError.HttpApiDecodeError["issues"][number]

/** One issue in plain words: the schema's own message when it has one, else what the value must be. */
const plain = (issue: Issue): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Unexpected":
      return "is not a field of this request"
    case "Transformation":
      return /into a number/.test(issue.message) ? "must be a number" : "is not valid"
    default: {
      if (issue.message.startsWith("Expected a string matching the pattern")) return "has the wrong format"
      const expected = /^Expected (.+?), actual /s.exec(issue.message)
      return expected?.[1] === undefined ? (issue.message.split("\n")[0] ?? "is not valid") : `must be ${expected[1]}`
    }
  }
}

/**
 * The issues as one line. An optional field's "Expected undefined" (the value is not absent either) is
 * dropped beside the field's real issue.
 */
export const describeIssues = (issues: ReadonlyArray<Issue>): string => {
  const located = issues.map((issue) => ({ path: issue.path.map(String).join("."), issue }))
  const parts = located
    .filter(({ path, issue }) => !(issue._tag === "Type" && issue.message.startsWith("Expected undefined") && located.some((o) => o.path === path && o.issue !== issue)))
    .map(({ path, issue }) => (path.length > 0 ? `${path} ${plain(issue)}` : plain(issue)))
  const unique = [...new Set(parts)].slice(0, 5)
  return unique.length > 0 ? `${VALIDATION_FAILED}: ${unique.join("; ")}` : VALIDATION_FAILED
}

/** The answer to a request that failed validation, marking its fiber. */
export const refuseInvalid = (message: string) => Effect.zipRight(FiberRef.set(validationFailed, true), seedResponse(400, message))

/** API-level middleware: the router's decode failures become the seed's 400 with a plain message. */
export const ValidationFailuresLive = HttpApiBuilder.middleware((app) =>
  Effect.catchAllCause(app, (cause) => {
    // the router's failures are typed `never` here; the decode failure is found as the API finds it
    const failure = Cause.squash(cause)
    return failure instanceof HttpApiError.HttpApiDecodeError ? refuseInvalid(describeIssues(failure.issues)) : Effect.failCause(cause)
  })
)
