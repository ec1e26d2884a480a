import { Effect } from "effect"
import type {
  ChainUnavailable,
  ContentNotFound,
  ContentNotSellable,
  DatabaseUnavailable,
  DebtOutstanding,
  InsufficientBalance,
  NotSessionOwner,
  PaymentNotProven,
  SessionAlreadyOpen,
  SessionNotFound,
  SettlementRejected
} from "../domain/errors.js"
import type { IllegalTransition } from "../domain/Session.js"
import { BadRequest, Conflict, Forbidden, NotFound, PaymentRequired, ServiceUnavailable, type Unauthorized } from "./errors.js"

export type DomainError =
  | ChainUnavailable
  | ContentNotFound
  | ContentNotSellable
  | DatabaseUnavailable
  | DebtOutstanding
  | IllegalTransition
  | InsufficientBalance
  | NotSessionOwner
  | PaymentNotProven
  | SessionAlreadyOpen
  | SessionNotFound
  | SettlementRejected

/** Every API error a handler may end with (declared once per group, see `withApiErrors`). */
export type ApiError = BadRequest | Unauthorized | PaymentRequired | Forbidden | NotFound | Conflict | ServiceUnavailable

const toHttp = (e: DomainError): NotFound | BadRequest | PaymentRequired | Conflict | Forbidden | ServiceUnavailable => {
  const message = e.message
  switch (e._tag) {
    case "ContentNotFound":
    case "SessionNotFound":
      return new NotFound({ message })
    case "ContentNotSellable":
    case "InsufficientBalance":
    case "PaymentNotProven":
      return new BadRequest({ message })
    case "DebtOutstanding":
      return new PaymentRequired({ message })
    case "SessionAlreadyOpen":
    case "IllegalTransition":
    case "SettlementRejected":
      return new Conflict({ message })
    case "NotSessionOwner":
      return new Forbidden({ message })
    case "ChainUnavailable":
    case "DatabaseUnavailable":
      return new ServiceUnavailable({ message })
  }
}

const isDomainError = (e: unknown): e is DomainError =>
  typeof e === "object" &&
  e !== null &&
  "_tag" in e &&
  typeof e._tag === "string" &&
  [
    "ChainUnavailable",
    "ContentNotFound",
    "ContentNotSellable",
    "DatabaseUnavailable",
    "DebtOutstanding",
    "IllegalTransition",
    "InsufficientBalance",
    "NotSessionOwner",
    "PaymentNotProven",
    "SessionAlreadyOpen",
    "SessionNotFound",
    "SettlementRejected"
  ].includes(e._tag)

/** Maps the domain's failures to API errors (status and the seed's body); API errors pass through. */
export const httpErrors = <A, R>(effect: Effect.Effect<A, DomainError | ApiError, R>): Effect.Effect<A, ApiError, R> =>
  Effect.mapError(effect, (e) => (isDomainError(e) ? toHttp(e) : e))
