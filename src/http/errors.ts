import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, ParseResult, Schema } from "effect"

/**
 * The one module that builds the seed's error body `{ error, message, statusCode, timestamp }`: for the
 * API's typed errors (their wire schemas below), and for every response made outside a handler
 * (`seedResponse`: the guards, idempotency, the router's 404/405, the pipeline's 413/429/503).
 *
 * Each API error class carries a message; its wire schema carries its status (HttpApiSchema's `status`
 * annotation, which OpenAPI and the typed client read) and renders the seed's body with the time from
 * `Clock`. Each endpoint declares exactly the ones it can end with.
 */

const seedBody = <L extends string>(label: L) =>
  Schema.Struct({
    error: Schema.Literal(label),
    message: Schema.String,
    statusCode: Schema.Int,
    timestamp: Schema.String
  })

/** The wire form of an API error class: the seed's body, with the status the class carries. */
const seedFormat = <A, Tag extends string, L extends string>(
  cls: Schema.Schema<A, { readonly _tag: Tag; readonly message: string }>,
  tag: Tag,
  label: L
) => {
  const status = HttpApiSchema.getStatusError(cls)
  return Schema.transformOrFail(seedBody(label), cls, {
    strict: true,
    decode: (body) => ParseResult.succeed({ _tag: tag, message: body.message }),
    encode: (e) => Effect.map(Clock.currentTimeMillis, (ms) => ({ ...seedError(status, e.message, ms), error: label }))
  }).annotations(HttpApiSchema.annotations({ status, identifier: tag, description: `${status} ${label}` }))
}

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }, HttpApiSchema.annotations({ status: 400 })) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }, HttpApiSchema.annotations({ status: 401 })) {}
export class PaymentRequired extends Schema.TaggedError<PaymentRequired>()("PaymentRequired", { message: Schema.String }, HttpApiSchema.annotations({ status: 402 })) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }, HttpApiSchema.annotations({ status: 403 })) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }, HttpApiSchema.annotations({ status: 404 })) {}
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", { message: Schema.String }, HttpApiSchema.annotations({ status: 409 })) {}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", { message: Schema.String }, HttpApiSchema.annotations({ status: 503 })) {}

export const BadRequestError = seedFormat(BadRequest, "BadRequest", "Bad Request")
export const UnauthorizedError = seedFormat(Unauthorized, "Unauthorized", "Unauthorized")
export const PaymentRequiredError = seedFormat(PaymentRequired, "PaymentRequired", "Payment Required")
export const ForbiddenError = seedFormat(Forbidden, "Forbidden", "Forbidden")
export const NotFoundError = seedFormat(NotFound, "NotFound", "Not Found")
export const ConflictError = seedFormat(Conflict, "Conflict", "Conflict")
export const ServiceUnavailableError = seedFormat(ServiceUnavailable, "ServiceUnavailable", "Service Unavailable")

/** The labels the seed format uses for each status, for errors raised outside a handler. */
export const statusLabel = (status: number): string => {
  switch (status) {
    case 400:
      return "Bad Request"
    case 401:
      return "Unauthorized"
    case 402:
      return "Payment Required"
    case 403:
      return "Forbidden"
    case 404:
      return "Not Found"
    case 405:
      return "Method Not Allowed"
    case 409:
      return "Conflict"
    case 413:
      return "Payload Too Large"
    case 415:
      return "Unsupported Media Type"
    case 422:
      return "Unprocessable Entity"
    case 429:
      return "Too Many Requests"
    case 503:
      return "Service Unavailable"
    case 504:
      return "Gateway Timeout"
    default:
      return status >= 500 ? "Internal Server Error" : "Error"
  }
}

export interface SeedError {
  readonly error: string
  readonly message: string
  readonly statusCode: number
  readonly timestamp: string
}

export const seedError = (status: number, message: string, now: number): SeedError => ({
  error: statusLabel(status),
  message,
  statusCode: status,
  timestamp: new Date(now).toISOString()
})


/** A response in the seed's error format, stamped by `Clock`. */
export const seedResponse = (status: number, message: string, headers?: Readonly<Record<string, string>>) =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    HttpServerResponse.unsafeJson(seedError(status, message, now), { status, ...(headers === undefined ? {} : { headers }) })
  )
