import { Duration, Effect, Option } from "effect"
import type { Account, Hex, Chain as ViemChain, PublicClient, Transport, WalletClient } from "viem"
import { type Address, toAddress } from "../domain/Address.js"
import { type ListingTerms, contentKeyOf } from "../domain/Chain.js"
import { type ChainUnavailable, ListingRefused, NoContentManager } from "../domain/errors.js"
import { trackChainCall } from "../metrics/Metrics.js"
import { streamingWalletAbi } from "./contracts.js"
import { classify, unavailable } from "./errors.js"

export interface ListingClients {
  readonly publicClient: PublicClient<Transport, ViemChain>
  /** The account holding CONTENT_MANAGER_ROLE; None when no key was configured. */
  readonly contentManager: Option.Option<WalletClient<Transport, ViemChain, Account>>
  readonly wallet: Address
  readonly confirmations: number
  readonly timeout: Duration.Duration
  /**
   * Held while a write is prepared, sent and mined: the operator's lock, since the content manager
   * may be the operator's own key (the development chain's) and one key has one nonce sequence.
   */
  readonly sendLock: Effect.Semaphore
}

/**
 * The Chain port's listing writes (`listContent`, `updateContent`, `delistContent`) over viem: each is
 * simulated (a revert comes back typed as ListingRefused), sent with the content manager's key and
 * waited for. Without a content-manager key each fails NoContentManager and nothing is sent.
 */
export const listingWrites = (clients: ListingClients) => {
  const { publicClient, wallet, confirmations } = clients
  type Manager = WalletClient<Transport, ViemChain, Account>

  const refused = (contentId: string) => (e: unknown): ChainUnavailable | ListingRefused => {
    const c = classify(e)
    return c._tag === "SettlementRejected" ? new ListingRefused({ contentId, errorName: c.errorName, reason: c.reason }) : c
  }

  /** Sends the call (`send`: simulated, then written with the content manager's key) and waits for it. */
  const write = (contentId: string, functionName: string, send: (manager: Manager) => Promise<Hex>) =>
    Option.match(clients.contentManager, {
      onNone: () => Effect.fail(new NoContentManager()),
      onSome: (walletClient) =>
        Effect.gen(function* () {
          const hash = yield* Effect.tryPromise({ try: () => send(walletClient), catch: refused(contentId) })
          const receipt = yield* Effect.tryPromise({
            try: () => publicClient.waitForTransactionReceipt({ hash, confirmations, timeout: Duration.toMillis(clients.timeout) }),
            catch: unavailable
          })
          if (receipt.status !== "success") {
            return yield* new ListingRefused({ contentId, errorName: "TransactionReverted", reason: `transaction ${hash} reverted` })
          }
        }).pipe(
          trackChainCall(functionName),
          clients.sendLock.withPermits(1),
          Effect.withSpan(`Chain.${functionName}`, { attributes: { contentId } })
        )
    })

  const terms = (contentId: string, t: ListingTerms) => [contentKeyOf(contentId), t.creator, t.price, t.duration] as const

  return {
    contentManager: Option.map(clients.contentManager, (w) => toAddress(w.account.address)),
    listContent: (contentId: string, t: ListingTerms) =>
      write(contentId, "listContent", (m) =>
        publicClient
          .simulateContract({ account: m.account, address: wallet, abi: streamingWalletAbi, functionName: "listContent", args: terms(contentId, t) })
          .then(({ request }) => m.writeContract(request))
      ),
    updateContent: (contentId: string, t: ListingTerms) =>
      write(contentId, "updateContent", (m) =>
        publicClient
          .simulateContract({ account: m.account, address: wallet, abi: streamingWalletAbi, functionName: "updateContent", args: terms(contentId, t) })
          .then(({ request }) => m.writeContract(request))
      ),
    delistContent: (contentId: string) =>
      write(contentId, "delistContent", (m) =>
        publicClient
          .simulateContract({ account: m.account, address: wallet, abi: streamingWalletAbi, functionName: "delistContent", args: [contentKeyOf(contentId)] })
          .then(({ request }) => m.writeContract(request))
      )
  }
}
