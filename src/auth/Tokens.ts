import { Clock, Context, Data, Duration, Effect, Layer, Option, Redacted } from "effect"
import { SignJWT, jwtVerify } from "jose"
import { randomBytes } from "node:crypto"
import { AppConfig } from "../config.js"
import { type Address, isAddress, toAddress } from "../domain/Address.js"
import { StartupError } from "../platform/StartupError.js"

/**
 * Sign-in tokens: HS256 JWTs signed with JWT_SECRET (jose), `sub` = the signed-in address (lower case).
 * The secret never leaves this module: it is not logged, not put in an error, not returned.
 */

const ISSUER = "payg"
const AUDIENCE = "payg-api"
/** HS256 wants a key of at least 256 bits. */
const MIN_SECRET_LENGTH = 32

export interface IssuedToken {
  readonly token: string
  readonly address: Address
  readonly expiresAt: Date
}

/** Why a token was refused; the message is safe to send to the client. */
export class InvalidToken extends Data.TaggedError("InvalidToken")<{ readonly message: string }> {}

export class Tokens extends Context.Tag("payg/Tokens")<
  Tokens,
  {
    readonly issue: (address: Address) => Effect.Effect<IssuedToken>
    /** The address a valid, unexpired token was issued for. */
    readonly verify: (token: string) => Effect.Effect<Address, InvalidToken>
  }
>() {}

const encoder = new TextEncoder()

/** JWT_SECRET, or in development a random per-process one (tokens then die with the process). */
const signingKey = Effect.gen(function* () {
  const config = yield* AppConfig
  const production = config.nodeEnv === "production"
  if (Option.isSome(config.security.jwtSecret)) {
    const secret = Redacted.value(config.security.jwtSecret.value)
    if (secret.length < MIN_SECRET_LENGTH) {
      if (production) {
        return yield* new StartupError({ reason: `JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters in production` })
      }
      yield* Effect.logWarning(`JWT_SECRET is shorter than ${MIN_SECRET_LENGTH} characters: acceptable for development only`)
    }
    return encoder.encode(secret)
  }
  if (production) {
    return yield* new StartupError({ reason: "JWT_SECRET is not set; sign-in tokens cannot be issued in production without it" })
  }
  yield* Effect.logWarning("JWT_SECRET is not set: using a random per-process secret, so sign-in tokens end with this process")
  return new Uint8Array(randomBytes(32))
})

const reasonOf = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "the token has expired: sign in again"
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the token's signature is invalid"
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return "the token was not issued for this API"
    default:
      return "the token is malformed or invalid"
  }
}

export const TokensLive = Layer.effect(
  Tokens,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const key = yield* signingKey
    const ttlSeconds = Math.max(1, Math.floor(Duration.toSeconds(config.security.jwtTtl)))

    const issue = Effect.fn("Tokens.issue")(function* (address: Address) {
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const exp = now + ttlSeconds
      const token = yield* Effect.promise(() =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(address)
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setIssuedAt(now)
          .setExpirationTime(exp)
          .sign(key)
      )
      return { token, address, expiresAt: new Date(exp * 1000) }
    })

    const verify = Effect.fn("Tokens.verify")(function* (token: string) {
      const now = yield* Clock.currentTimeMillis
      const { payload } = yield* Effect.tryPromise({
        try: () =>
          jwtVerify(token, key, {
            algorithms: ["HS256"],
            issuer: ISSUER,
            audience: AUDIENCE,
            requiredClaims: ["sub", "exp", "iat"],
            currentDate: new Date(now)
          }),
        catch: (cause) => new InvalidToken({ message: reasonOf(cause) })
      })
      // a JWT's claims are whatever JSON its issuer wrote: a validly signed `sub` may still be a number,
      // an array or an object, so its type is checked before it is read as text
      const sub: unknown = payload.sub
      if (typeof sub !== "string" || !isAddress(sub)) return yield* Effect.fail(new InvalidToken({ message: "the token names no address" }))
      return toAddress(sub)
    })

    return Tokens.of({ issue, verify })
  })
)
