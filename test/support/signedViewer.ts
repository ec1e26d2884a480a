import { Effect } from "effect"
import type { HDAccount } from "viem/accounts"
import { DevChain } from "../../src/chain/ChainInProcess.js"
import { type Address, toAddress } from "../../src/domain/Address.js"
import { ContentId } from "../../src/domain/Content.js"
import { apiClient } from "./app.js"
import { devAccount } from "./devKeys.js"
import { USDC } from "./users.js"

export type SignedViewer = { readonly account: HDAccount; readonly user: Address }

/** Hardhat's development account #index, funded in the vault (its consent to the wallet given), ready to sign. */
export const signingViewer = (index: number, principal = 50n * USDC) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const account = devAccount(index)
    const user = toAddress(account.address)
    yield* dev.fund(user, { principal, yieldAmount: 0n, allowance: 1_000n * USDC })
    return { account, user } satisfies SignedViewer
  })

/**
 * Quotes `contentId` for the viewer and signs the quote's typed data as the API gives it (its uint256
 * fields read as bigint): the quote, and the start request's `authorization` (for the typed client).
 */
export const quoteAndSign = (v: SignedViewer, contentId: string) =>
  Effect.gen(function* () {
    const client = yield* apiClient
    const q = yield* client.session.quote({ payload: { userAddress: v.user, contentId: ContentId.make(contentId) } })
    const t = q.data.typedData
    const message = {
      ...t.message,
      sessionKey: BigInt(t.message.sessionKey),
      maxAmount: BigInt(t.message.maxAmount),
      deadline: BigInt(t.message.deadline)
    }
    const signature = yield* Effect.promise(() => v.account.signTypedData({ domain: t.domain, types: t.types, primaryType: t.primaryType, message }))
    return {
      quote: q.data,
      authorization: { sessionKey: message.sessionKey, maxAmount: message.maxAmount, deadline: Number(message.deadline), signature }
    }
  })
