import { HttpApiMiddleware, HttpApiSecurity, HttpServerRequest, OpenApi } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { bearerToken } from "../auth/Ownership.js"
import { Tokens } from "../auth/Tokens.js"
import { AppConfig } from "../config.js"
import { type Address, checksum } from "../domain/Address.js"
import { Forbidden, ForbiddenError, Unauthorized, UnauthorizedError } from "../http/errors.js"

/** The operator a request of the admin routes comes from (an address of ADMIN_ADDRESSES). */
export class Operator extends Context.Tag("payg/Operator")<Operator, { readonly address: Address }>() {}

const signInHint = "sign in with Ethereum as an operator address (GET /api/auth/nonce, then POST /api/auth/verify) and send 'Authorization: Bearer <token>'"

/**
 * The admin routes declare this middleware: a Sign-In with Ethereum token (the viewers' sign-in) whose
 * address is one of ADMIN_ADDRESSES. Unlike the viewers' routes it is enforced in every mode: no
 * token or an invalid one is 401, a valid token of any other address (a viewer's) is 403.
 */
export class OperatorAuthentication extends HttpApiMiddleware.Tag<OperatorAuthentication>()("payg/OperatorAuthentication", {
  failure: Schema.Union(UnauthorizedError, ForbiddenError),
  provides: Operator,
  security: {
    operatorBearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "A Sign-In with Ethereum token (GET /api/auth/nonce, then POST /api/auth/verify) of an address listed in ADMIN_ADDRESSES; a viewer's token is 403"
      ),
      HttpApiSecurity.annotate(OpenApi.Format, "JWT")
    )
  }
}) {}

/** Who may manage the catalogue: the check behind `OperatorAuthentication`. */
export const operatorCheck = (admins: ReadonlySet<string>, verify: (token: string) => Effect.Effect<Address, { readonly message: string }>) =>
  Effect.fnUntraced(function* (header: string | undefined) {
    if (header === undefined || header.length === 0) return yield* new Unauthorized({ message: `operator authentication required: ${signInHint}` })
    const token = bearerToken(header)
    if (token === undefined) return yield* new Unauthorized({ message: "the Authorization header must be 'Bearer <token>'" })
    const address = yield* Effect.mapError(verify(token), (e) => new Unauthorized({ message: e.message }))
    if (!admins.has(address)) {
      return yield* new Forbidden({ message: `${checksum(address)} is not an operator (ADMIN_ADDRESSES): it cannot manage the catalogue` })
    }
    return Operator.of({ address })
  })

export const OperatorAuthenticationLive = Layer.effect(
  OperatorAuthentication,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const tokens = yield* Tokens
    const admins = new Set(config.admin.addresses)
    if (admins.size === 0) yield* Effect.logInfo("ADMIN_ADDRESSES is empty: nobody can manage the catalogue through the API")
    const check = operatorCheck(admins, tokens.verify)
    return OperatorAuthentication.of({
      // the raw header, as the viewers' middleware reads it: another scheme is refused by name
      operatorBearer: () => Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => check(request.headers["authorization"]))
    })
  })
)
