import { Effect } from "effect"
import type {
  AuthorizationRefused,
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
  | AuthorizationRefused
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

/** Every API error a handler may end with; each endpoint declares the ones it can (see the group files). */
export type ApiError = BadRequest | Unauthorized | PaymentRequired | Forbidden | NotFound | Conflict | ServiceUnavailable

/**
 * The API error each domain failure is answered with. A record over the union's tags: a new domain
 * failure that is not mapped here does not compile.
 */
const statusOf = {
  ContentNotFound: NotFound,
  SessionNotFound: NotFound,
  ContentNotSellable: BadRequest,
  InsufficientBalance: BadRequest,
  PaymentNotProven: BadRequest,
  AuthorizationRefused: BadRequest,
  DebtOutstanding: PaymentRequired,
  SessionAlreadyOpen: Conflict,
  IllegalTransition: Conflict,
  SettlementRejected: Conflict,
  NotSessionOwner: Forbidden,
  ChainUnavailable: ServiceUnavailable,
  DatabaseUnavailable: ServiceUnavailable
} as const satisfies { readonly [K in DomainError["_tag"]]: new (props: { readonly message: string }) => ApiError }

type StatusOf = typeof statusOf

/** The API errors `E` becomes: each domain failure its mapped error, an API error itself. */
export type HttpErrorOf<E> = E extends { readonly _tag: infer T extends keyof StatusOf } ? InstanceType<StatusOf[T]> : E

const isDomainError = (e: DomainError | ApiError): e is DomainError => Object.hasOwn(statusOf, e._tag)

/**
 * Maps the domain's failures to API errors (status and the seed's body); API errors pass through. The
 * result's error type is exactly the API errors the effect can end with, so an endpoint that does not
 * declare one of them does not compile.
 */
export function httpErrors<A, E extends DomainError | ApiError, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, HttpErrorOf<E>, R>
export function httpErrors<A, R>(effect: Effect.Effect<A, DomainError | ApiError, R>): Effect.Effect<A, ApiError, R> {
  return Effect.mapError(effect, (e) => (isDomainError(e) ? new statusOf[e._tag]({ message: e.message }) : e))
}
