import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer } from "effect"
import { bearerToken } from "../auth/Ownership.js"
import { Tokens } from "../auth/Tokens.js"
import { AppConfig } from "../config.js"
import { type Address, checksum } from "../domain/Address.js"
import { Forbidden, Unauthorized } from "../http/errors.js"
import { Operator, OperatorAuthentication } from "./Operator.js"

const signInHint = "sign in with Ethereum as an operator address (GET /api/auth/nonce, then POST /api/auth/verify) and send 'Authorization: Bearer <token>'"

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
