import { SqlClient } from "@effect/sql"
import { Clock, Context, Data, Duration, Effect, Layer, Option } from "effect"
import { type Hex, verifyMessage } from "viem"
import { type SiweMessage, createSiweMessage, parseSiweMessage, validateSiweMessage } from "viem/siwe"
import { randomBytes } from "node:crypto"
import { AppConfig, type AppConfigShape } from "../config.js"
import { orUnavailable } from "../db/errors.js"
import { isAddress, toAddress } from "../domain/Address.js"
import { Chain } from "../domain/Chain.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { StartupError } from "../platform/StartupError.js"
import { type IssuedToken, Tokens } from "./Tokens.js"

/**
 * Sign-In with Ethereum (EIP-4361): a single-use nonce from PostgreSQL (shared by every instance),
 * a message the wallet signs, checked here (domain, chain, time window, signature, nonce), and a JWT.
 *
 * Signatures are checked with viem's `verifyMessage`, which recovers the signer: externally owned
 * accounts only. Contract wallets (EIP-1271 / ERC-6492) would need a call to the chain.
 */

export interface NonceGrant {
  readonly nonce: string
  readonly expiresAt: Date
  /** The chain id the message must name. */
  readonly chainId: number
}

/** The message cannot be read as an EIP-4361 message (400). */
export class MalformedSignIn extends Data.TaggedError("MalformedSignIn")<{ readonly message: string }> {}

/** A well-formed message that does not sign in: wrong domain or chain, expired, bad signature, used nonce (401). */
export class SignInRejected extends Data.TaggedError("SignInRejected")<{ readonly message: string }> {}

export class SignIn extends Context.Tag("payg/SignIn")<
  SignIn,
  {
    readonly nonce: () => Effect.Effect<NonceGrant, DatabaseUnavailable>
    readonly verify: (
      message: string,
      signature: Hex
    ) => Effect.Effect<IssuedToken, MalformedSignIn | SignInRejected | DatabaseUnavailable>
  }
>() {}

/** SIWE_DOMAIN (comma-separated), else the hosts of CORS_ORIGIN: never the request's own Host header. */
export const acceptedDomains = (config: AppConfigShape): ReadonlyArray<string> => {
  const explicit = Option.map(config.security.siweDomain, (s) => s.split(","))
  const candidates = Option.getOrElse(explicit, () =>
    config.security.corsOrigin.flatMap((origin) => {
      try {
        const host = new URL(origin).host
        return host.length > 0 ? [host] : []
      } catch {
        return []
      }
    })
  )
  return [...new Set(candidates.map((d) => d.trim().toLowerCase()).filter((d) => d.length > 0 && d !== "*"))]
}

/** Lines whose value is an RFC 3339 date: any valid spelling of the date is accepted (parsing checked it). */
const dateKeys = ["Issued At: ", "Expiration Time: ", "Not Before: "]

/**
 * True when `message` is exactly the EIP-4361 text of its own fields: nothing after the last field
 * (viem's parser ignores trailing text, which the signer would have signed but never been shown as
 * part of the sign-in), no field out of order, the address in its EIP-55 form.
 */
const isExactly = (message: string, fields: SiweMessage): boolean => {
  let canonical: ReadonlyArray<string>
  try {
    canonical = createSiweMessage(fields).split("\n")
  } catch {
    return false
  }
  const given = message.split("\n")
  return (
    given.length === canonical.length &&
    given.every((line, i) => {
      const expected = canonical[i] ?? ""
      const dateKey = dateKeys.find((k) => expected.startsWith(k))
      return dateKey === undefined ? line === expected : line.startsWith(dateKey)
    })
  )
}

/** How often expired nonces are swept away (by whichever instance issues a nonce). */
const SWEEP_EVERY_MS = 60_000

export const SignInLive = Layer.effect(
  SignIn,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const tokens = yield* Tokens
    const chainId = (yield* Chain).binding.chainId
    const nonceTtlMs = Duration.toMillis(config.security.siweNonceTtl)
    const domains = acceptedDomains(config)
    const domainSet = new Set(domains)
    if (domains.length === 0) {
      if (config.nodeEnv === "production") {
        return yield* new StartupError({ reason: "SIWE_DOMAIN is not set and CORS_ORIGIN names no host: sign-in would accept no message" })
      }
      yield* Effect.logWarning("SIWE_DOMAIN is not set and CORS_ORIGIN names no host: every sign-in will be refused")
    }
    let lastSweep = 0

    /** The URI rule (docs/SECURITY.md): an http(s) URL whose host is one of the accepted domains. */
    const uriAccepted = (uri: string): boolean => {
      try {
        const url = new URL(uri)
        return (url.protocol === "https:" || url.protocol === "http:") && domainSet.has(url.host.toLowerCase())
      } catch {
        return false
      }
    }

    const sweep = (now: number) =>
      now - lastSweep < SWEEP_EVERY_MS
        ? Effect.void
        : Effect.suspend(() => {
            lastSweep = now
            return sql`DELETE FROM auth_nonces WHERE expires_at < ${new Date(now).toISOString()}::timestamptz`.pipe(
              Effect.catchAll((e) => Effect.logWarning("could not sweep expired sign-in nonces", e.message))
            )
          })

    const nonce = Effect.fn("SignIn.nonce")(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* sweep(now)
      // 128 random bits from the OS (viem's generateSiweNonce draws on Math.random); hex is alphanumeric.
      const value = randomBytes(16).toString("hex")
      const expiresAt = new Date(now + nonceTtlMs)
      yield* orUnavailable(
        sql`INSERT INTO auth_nonces (nonce, issued_at, expires_at)
            VALUES (${value}, ${new Date(now).toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz)`
      )
      return { nonce: value, expiresAt, chainId }
    })

    /** Single use: the row is deleted as it is read, so two instances can never both accept it. */
    const consumeNonce = (value: string, now: number) =>
      orUnavailable(
        sql<{ readonly fresh: boolean }>`
          DELETE FROM auth_nonces WHERE nonce = ${value}
          RETURNING expires_at > ${new Date(now).toISOString()}::timestamptz AS fresh`
      ).pipe(
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.fail(new SignInRejected({ message: "the nonce is unknown or was already used: request a new one" }))
          if (!row.fresh) return Effect.fail(new SignInRejected({ message: "the nonce has expired: request a new one" }))
          return Effect.void
        })
      )

    const verify = Effect.fn("SignIn.verify")(function* (message: string, signature: Hex) {
      const now = yield* Clock.currentTimeMillis
      const time = new Date(now)
      const fields = parseSiweMessage(message)
      const { address, domain, nonce: messageNonce, issuedAt } = fields
      if (
        address === undefined ||
        domain === undefined ||
        messageNonce === undefined ||
        fields.uri === undefined ||
        fields.version === undefined ||
        fields.chainId === undefined ||
        issuedAt === undefined
      ) {
        return yield* new MalformedSignIn({ message: "message is not an EIP-4361 (Sign-In with Ethereum) message" })
      }
      if (fields.version !== "1") return yield* new MalformedSignIn({ message: "message: only SIWE version 1 is supported" })
      if (!isAddress(address)) return yield* new MalformedSignIn({ message: "message: the address is not an EVM address" })
      if ([issuedAt, fields.expirationTime, fields.notBefore].some((d) => d !== undefined && Number.isNaN(d.getTime()))) {
        return yield* new MalformedSignIn({ message: "message: a date is not an RFC 3339 date-time" })
      }
      if (!isExactly(message, { ...fields, address, domain, nonce: messageNonce, uri: fields.uri, version: fields.version, chainId: fields.chainId, issuedAt })) {
        return yield* new MalformedSignIn({
          message: "message: not exactly an EIP-4361 message (text after its last field, or a field out of place or not in canonical form)"
        })
      }
      if (!domainSet.has(domain.toLowerCase())) {
        return yield* new SignInRejected({
          message: `the message is for domain '${domain}', which this server does not accept (accepted: ${domains.join(", ") || "none"})`
        })
      }
      if (!uriAccepted(fields.uri)) {
        return yield* new SignInRejected({
          message: `the message's URI '${fields.uri}' is not an http(s) URL on an accepted domain (accepted: ${domains.join(", ") || "none"})`
        })
      }
      if (fields.chainId !== chainId) {
        return yield* new SignInRejected({ message: `the message is for chain ${fields.chainId}; this server signs in on chain ${chainId}` })
      }
      if (fields.expirationTime !== undefined && fields.expirationTime.getTime() <= now) {
        return yield* new SignInRejected({ message: "the message has expired: sign a new one" })
      }
      if (fields.notBefore !== undefined && fields.notBefore.getTime() > now) {
        return yield* new SignInRejected({ message: `the message is not valid before ${fields.notBefore.toISOString()}` })
      }
      // viem's own check of the same message (version, nonce format, address, time window), as a last gate.
      if (!validateSiweMessage({ message: fields, domain, time })) {
        return yield* new SignInRejected({ message: "the message is not a valid sign-in message" })
      }
      const signed = yield* Effect.promise(() => verifyMessage({ address, message, signature }).catch(() => false))
      if (!signed) return yield* new SignInRejected({ message: "the signature does not match the message's address" })
      yield* consumeNonce(messageNonce, now)
      return yield* tokens.issue(toAddress(address))
    })

    return SignIn.of({ nonce, verify })
  })
)
