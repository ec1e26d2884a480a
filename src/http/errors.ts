import { type HttpApiEndpoint, type HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Clock, Effect, ParseResult, Schema } from "effect"

/**
 * API errors in the seed's format `{ error, message, statusCode, timestamp }`.
 * Each class carries a message; its wire schema renders the seed's body with the time from `Clock`,
 * and its `error` label tells the typed client which error a body is.
 */

const seedBody = <L extends string>(label: L) =>
  Schema.Struct({
    error: Schema.Literal(label),
    message: Schema.String,
    statusCode: Schema.Int,
    timestamp: Schema.String
  })

const seedFormat = <A, Tag extends string, L extends string>(
  cls: Schema.Schema<A, { readonly _tag: Tag; readonly message: string }>,
  tag: Tag,
  label: L,
  status: number
) =>
  Schema.transformOrFail(seedBody(label), cls, {
    strict: true,
    decode: (body) => ParseResult.succeed({ _tag: tag, message: body.message }),
    encode: (e) =>
      Effect.map(Clock.currentTimeMillis, (ms) => ({
        error: label,
        message: e.message,
        statusCode: status,
        timestamp: new Date(ms).toISOString()
      }))
  }).annotations(HttpApiSchema.annotations({ status, identifier: tag, description: `${status} ${label}` }))

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}
export class PaymentRequired extends Schema.TaggedError<PaymentRequired>()("PaymentRequired", { message: Schema.String }) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", { message: Schema.String }) {}
export class UnprocessableEntity extends Schema.TaggedError<UnprocessableEntity>()("UnprocessableEntity", { message: Schema.String }) {}
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", { message: Schema.String }) {}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", { message: Schema.String }) {}

export const BadRequestError = seedFormat(BadRequest, "BadRequest", "Bad Request", 400)
export const UnauthorizedError = seedFormat(Unauthorized, "Unauthorized", "Unauthorized", 401)
export const PaymentRequiredError = seedFormat(PaymentRequired, "PaymentRequired", "Payment Required", 402)
export const ForbiddenError = seedFormat(Forbidden, "Forbidden", "Forbidden", 403)
export const NotFoundError = seedFormat(NotFound, "NotFound", "Not Found", 404)
export const ConflictError = seedFormat(Conflict, "Conflict", "Conflict", 409)
export const UnprocessableEntityError = seedFormat(UnprocessableEntity, "UnprocessableEntity", "Unprocessable Entity", 422)
export const TooManyRequestsError = seedFormat(TooManyRequests, "TooManyRequests", "Too Many Requests", 429)
export const ServiceUnavailableError = seedFormat(ServiceUnavailable, "ServiceUnavailable", "Service Unavailable", 503)

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


/**
 * Declares on a group every error `httpErrors` (src/http/mapErrors.ts) may end a handler with: one
 * place, so the groups cannot drift from the mapping.
 */
export const withApiErrors = <Id extends string, Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any, E, R, TopLevel extends boolean>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, E, R, TopLevel>
) =>
  group
    .addError(BadRequestError)
    .addError(UnauthorizedError)
    .addError(PaymentRequiredError)
    .addError(ForbiddenError)
    .addError(NotFoundError)
    .addError(ConflictError)
    .addError(ServiceUnavailableError)
