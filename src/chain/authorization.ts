import type { Address, Hex } from "viem"
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
