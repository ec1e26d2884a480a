import { HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import { AppConfig, authRequired } from "../config.js"
import { type Address, checksum } from "../domain/Address.js"
import { Forbidden, Unauthorized } from "../http/errors.js"
import { Tokens } from "./Tokens.js"

/**
 * Who may act for an address. Routes that act for or read a user's private data call `actsFor`
 * with the address the request names; it fails with 401/403 unless the request may.
 */
export class Ownership extends Context.Tag("payg/Ownership")<
  Ownership,
  {
    /** `authorization`: the request's Authorization header, if any. */
    readonly check: (address: Address, authorization: string | undefined) => Effect.Effect<void, Unauthorized | Forbidden>
  }
>() {}

/** Fails unless the current request may act for `address`. */
export const actsFor = (address: Address) =>
  Effect.flatMap(Effect.all([Ownership, HttpServerRequest.HttpServerRequest]), ([ownership, request]) => ownership.check(address, request.headers["authorization"]))

/** Development without sign-in: a request acts for the address it names (the seed's curl examples work). */
export const OwnershipOpen = Layer.succeed(Ownership, Ownership.of({ check: () => Effect.void }))

const bearerPattern = /^Bearer +([A-Za-z0-9_.~+/-]+=*) *$/i

/** The token of an `Authorization: Bearer <token>` header, if the header has that form. */
export const bearerToken = (header: string): string | undefined => bearerPattern.exec(header)?.[1]

const signInHint = "sign in with Ethereum (GET /api/auth/nonce, then POST /api/auth/verify) and send 'Authorization: Bearer <token>'"

/**
 * The real check. A request with a token is always checked: the token must be valid and name the
 * address (401 if invalid, 403 if it names another). A request without one is refused (401) when
 * auth is required (production, or AUTH_REQUIRED=true); otherwise it acts for the address it names.
 */
export const OwnershipLive = Layer.effect(
  Ownership,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const tokens = yield* Tokens
    const required = authRequired(config)

    const check = Effect.fnUntraced(function* (address: Address, header: string | undefined) {
      if (header === undefined || header.length === 0) {
        if (required) return yield* new Unauthorized({ message: `authentication required: ${signInHint}` })
        return
      }
      const token = bearerToken(header)
      if (token === undefined) return yield* new Unauthorized({ message: "the Authorization header must be 'Bearer <token>'" })
      const owner = yield* Effect.mapError(tokens.verify(token), (e) => new Unauthorized({ message: e.message }))
      if (owner !== address) {
        return yield* new Forbidden({ message: `this token is for ${checksum(owner)}; it cannot act for ${checksum(address)}` })
      }
    })

    return Ownership.of({ check })
  })
)
