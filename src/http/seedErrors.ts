import { type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { seedResponse, statusLabel } from "./errors.js"

/**
 * Guarantees that every error response, wherever it comes from (a handler, the router, a defect; the
 * request decoder's are answered in validation.ts), has the seed's body `{ error, message, statusCode, timestamp }`, and that
 * nothing internal (a stack, a schema dump, a cause) reaches the client.
 */

const decoder = new TextDecoder()

const readJson = (response: HttpServerResponse.HttpServerResponse): unknown => {
  if (response.body._tag !== "Uint8Array") return undefined
  try {
    return JSON.parse(decoder.decode(response.body.body))
  } catch {
    return undefined
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const defaultMessage = (status: number): string => {
  switch (status) {
    case 404:
      return "no such route"
    case 405:
      return "method not allowed"
    case 500:
      return "an unexpected error occurred"
    default:
      return statusLabel(status).toLowerCase()
  }
}

/** The rewrite itself: a response of status >= 400 gets the seed body; anything else passes unchanged. */
export const normalize = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) => {
  if (response.status < 400) return Effect.succeed(response)
  const body = readJson(response)
  if (isRecord(body) && typeof body.error === "string" && typeof body.statusCode === "number" && typeof body.message === "string") {
    return Effect.succeed(response)
  }
  if (response.status === 404 && body === undefined) {
    return seedResponse(404, `no route for ${request.method} ${request.url.split("?")[0] ?? "/"}`, response.headers)
  }
  return seedResponse(response.status, defaultMessage(response.status), response.headers)
}
