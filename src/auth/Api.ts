import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { documented } from "../http/apiParts.js"
import { AddressFromString } from "../domain/Address.js"
import { Envelope, Timestamp } from "../http/envelope.js"
import { BadRequestError, ServiceUnavailableError, UnauthorizedError } from "../http/errors.js"

export const NonceGrant = Schema.Struct({
  nonce: Schema.String,
  expiresAt: Timestamp,
  chainId: Schema.Int
}).annotations({ identifier: "NonceGrant", description: "A single-use nonce to put in the EIP-4361 message, and the chain id it must name" })

export const SignInRequest = Schema.Struct({
  message: Schema.String.pipe(
    Schema.minLength(1, { message: () => "must be the EIP-4361 message that was signed" }),
    Schema.maxLength(4096, { message: () => "must be at most 4096 characters" })
  ),
  signature: Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String).pipe(
    Schema.pattern(/^0x[0-9a-fA-F]{2,2048}$/, { message: () => "must be a 0x-prefixed hexadecimal signature" })
  )
}).annotations({ identifier: "SignInRequest" })

export const SignInToken = Schema.Struct({
  token: Schema.String,
  address: AddressFromString,
  expiresAt: Timestamp
}).annotations({ identifier: "SignInToken", description: "A bearer token (JWT, HS256) for the address that signed" })

export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.get("nonce", "/api/auth/nonce")
      .addSuccess(Envelope(NonceGrant))
      .addError(ServiceUnavailableError)
      .annotateContext(documented("Sign-in step 1: a nonce", "A fresh single-use nonce for a Sign-In with Ethereum message"))
  )
  .add(
    HttpApiEndpoint.post("verify", "/api/auth/verify")
      .setPayload(SignInRequest)
      .addSuccess(Envelope(SignInToken))
      .addError(BadRequestError)
      .addError(UnauthorizedError)
      .addError(ServiceUnavailableError)
      .annotateContext(
        documented(
          "Sign-in step 2: a bearer token",
          "Checks a signed EIP-4361 message (domain, chain id, nonce, expiry, signature) and returns a bearer token for its address"
        )
      )
  )
  .annotate(OpenApi.Description, "Sign-In with Ethereum (EIP-4361): proof of address for the routes that act for a user") {}
