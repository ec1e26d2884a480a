import { Effect, Option } from "effect"
import { type Address, type Hex, hashTypedData, verifyTypedData } from "viem"
import { type SessionAuthorization, type SettlementRequest, contentKeyOf } from "../domain/Chain.js"

/**
 * The EIP-712 typed data of a session authorization (docs/CONTRACTS.md, "Viewer authorization"): what a
 * viewer signs with viem's `signTypedData` and the StreamingWallet verifies. The domain binds it to one
 * chain and one wallet deployment.
 */
export const sessionAuthorizationTypes = {
  SessionAuthorization: [
    { name: "viewer", type: "address" },
    { name: "contentId", type: "bytes32" },
    { name: "sessionKey", type: "uint256" },
    { name: "maxAmount", type: "uint256" },
    { name: "deadline", type: "uint256" }
  ]
} as const

export interface AuthorizationTerms {
  readonly viewer: Address
  /** Catalogue id; signed as its on-chain id. */
  readonly contentId: string
  readonly sessionKey: bigint
  readonly maxAmount: bigint
  readonly deadline: bigint
}

/** The typed data to sign for `terms` on the wallet at `wallet` of chain `chainId`. */
export const sessionAuthorizationTypedData = (domain: { readonly chainId: number; readonly wallet: Address }, terms: AuthorizationTerms) =>
  ({
    domain: { name: "StreamingWallet", version: "1", chainId: domain.chainId, verifyingContract: domain.wallet },
    types: sessionAuthorizationTypes,
    primaryType: "SessionAuthorization",
    message: {
      viewer: terms.viewer,
      contentId: contentKeyOf(terms.contentId),
      sessionKey: terms.sessionKey,
      maxAmount: terms.maxAmount,
      deadline: terms.deadline
    }
  }) as const

/** No authorization: accepted only by a wallet deployed without `requireAuthorization`. */
const unsigned: SessionAuthorization = { maxAmount: 0n, deadline: 0n, signature: "0x" }

/** The authorization fields of `settle` / `settleBatch` for a request (empty when it carries none). */
export const authorizationArgs = (r: SettlementRequest): { readonly maxAmount: bigint; readonly deadline: bigint; readonly signature: Hex } =>
  r.authorization ?? unsigned

/**
 * The deadline a quote asks the viewer to sign, in unix seconds: the quote's time, plus the time the
 * quote may wait for its start (`quoteTtl`), plus the longest a session stays open unattended (the
 * content's duration watched through, then SESSION_MAX_IDLE until the sweeper stops it), plus `margin`
 * (mining the settlement, retrying a debt). Every argument but `nowMs` is in seconds.
 */
export const quoteDeadline = (nowMs: number, t: { readonly quoteTtl: number; readonly lifetime: number }): bigint =>
  BigInt(Math.floor(nowMs / 1000) + t.quoteTtl + t.lifetime)

/** How long a session's signature must still be good at its start: duration + SESSION_MAX_IDLE + margin, in seconds. */
export const sessionLifetime = (t: { readonly totalDuration: number; readonly maxIdle: number; readonly margin: number }): number =>
  t.totalDuration + t.maxIdle + t.margin

/**
 * Why the signed terms cannot open a session at `nowMs`, or None: the maximum must cover the price,
 * and the deadline must outlive the session (`lifetime` seconds from now).
 */
export const termsProblem = (a: SessionAuthorization, t: { readonly price: bigint; readonly nowMs: number; readonly lifetime: number }): Option.Option<string> => {
  if (a.maxAmount < t.price) return Option.some(`maxAmount ${a.maxAmount} is below the content's price ${t.price}`)
  const needed = BigInt(Math.floor(t.nowMs / 1000) + t.lifetime)
  if (a.deadline < needed) {
    return Option.some(`the deadline ${a.deadline} is too early: a session started now needs a signature valid until at least ${needed}; ask for a new quote`)
  }
  return Option.none()
}

/**
 * Whether `signature` is the EOA `terms.viewer`'s signature of the terms (viem's verifyTypedData; a
 * malformed signature is simply not the viewer's), and the EIP-712 digest a contract wallet is asked about.
 */
export const eoaSigned = (domain: { readonly chainId: number; readonly wallet: Address }, terms: AuthorizationTerms, signature: Hex) => {
  const typedData = sessionAuthorizationTypedData(domain, terms)
  return {
    digest: hashTypedData(typedData),
    ok: Effect.promise(() => verifyTypedData({ ...typedData, address: terms.viewer, signature }).catch(() => false))
  }
}
