import { HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import { AppConfig, authRequired } from "../config.js"
import { type Address, checksum } from "../domain/Address.js"
import { Forbidden, Unauthorized } from "../http/errors.js"
import { Authentication, Caller } from "./Caller.js"
import { Tokens } from "./Tokens.js"

/**
 * Who may act for an address: the check behind the `Authentication` middleware (src/auth/Caller.ts),
 * which every route that acts for or reads a user's private data declares.
 */
export class Ownership extends Context.Tag("payg/Ownership")<
  Ownership,
  {
    /** The request's caller: fails 401 for an invalid token, or for none when auth is required. */
    readonly caller: (authorization: string | undefined) => Effect.Effect<Context.Tag.Service<Caller>, Unauthorized>
  }
>() {}

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

    /** Development without a token: the request acts for the address it names (the seed's curl examples work). */
    const anyone = Caller.of({ actingFor: Effect.succeed })
    const owner = (address: Address) =>
      Caller.of({
        actingFor: (named) =>
          named === address
            ? Effect.succeed(named)
            : Effect.fail(new Forbidden({ message: `this token is for ${checksum(address)}; it cannot act for ${checksum(named)}` }))
      })

    const caller = Effect.fnUntraced(function* (header: string | undefined) {
      if (header === undefined || header.length === 0) {
        if (required) return yield* new Unauthorized({ message: `authentication required: ${signInHint}` })
        return anyone
      }
      const token = bearerToken(header)
      if (token === undefined) return yield* new Unauthorized({ message: "the Authorization header must be 'Bearer <token>'" })
      return owner(yield* Effect.mapError(tokens.verify(token), (e) => new Unauthorized({ message: e.message })))
    })

    return Ownership.of({ caller })
  })
)

/** The `Authentication` middleware over the check: it provides the request's `Caller`. */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(Ownership, (ownership) =>
    Authentication.of({
      // the raw header, not the decoded token: a header of another scheme is refused by name
      bearer: () => Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => ownership.caller(request.headers["authorization"]))
    })
  )
)
