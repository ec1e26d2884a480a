import { Context, Effect, Layer } from "effect"
import { type Chain as ViemChain, type Hex, type PublicClient, type Transport, getAbiItem } from "viem"
import { type Address, toAddress } from "../domain/Address.js"
import type { ChainUnavailable } from "../domain/errors.js"
import { streamingWalletAbi } from "../chain/contracts.js"
import { unavailable } from "../chain/errors.js"

/** A payment event of the wallet: the operator's `SessionSettled` or a viewer's own `SessionPaid` (user = payer). */
export interface PaymentLog {
  readonly _tag: "SessionSettled" | "SessionPaid"
  readonly sessionKey: bigint
  readonly user: Address
  readonly contentKey: Hex
  readonly amount: bigint
  readonly txHash: Hex
  readonly blockNumber: bigint
  readonly logIndex: number
}

/** A listing event (`ContentListed` or `ContentUpdated`): who the content pays from this block on. */
export interface ListingLog {
  readonly _tag: "Listing"
  readonly contentKey: Hex
  readonly creator: Address
  readonly blockNumber: bigint
  readonly logIndex: number
}

export type LedgerLogEntry = PaymentLog | ListingLog

/** The audit's read of the chain: the wallet's payment and listing events, block range by block range. */
export class LedgerLog extends Context.Tag("payg/LedgerLog")<
  LedgerLog,
  {
    readonly wallet: Address
    readonly head: Effect.Effect<bigint, ChainUnavailable>
    /** The events of blocks `from` to `to`, both included, in chain order. */
    readonly between: (from: bigint, to: bigint) => Effect.Effect<ReadonlyArray<LedgerLogEntry>, ChainUnavailable>
  }
>() {}

const events = [
  getAbiItem({ abi: streamingWalletAbi, name: "SessionSettled" }),
  getAbiItem({ abi: streamingWalletAbi, name: "SessionPaid" }),
  getAbiItem({ abi: streamingWalletAbi, name: "ContentListed" }),
  getAbiItem({ abi: streamingWalletAbi, name: "ContentUpdated" })
]

/** The LedgerLog over a viem public client and the wallet's address (eth_getLogs, one call per range). */
export const LedgerLogViem = (publicClient: PublicClient<Transport, ViemChain | undefined>, wallet: Address) =>
  Layer.succeed(
    LedgerLog,
    LedgerLog.of({
      wallet,
      head: Effect.tryPromise({ try: () => publicClient.getBlockNumber({ cacheTime: 0 }), catch: unavailable }),
      between: (from, to) =>
        Effect.tryPromise({
          try: () => publicClient.getLogs({ address: wallet, events, fromBlock: from, toBlock: to, strict: true }),
          catch: unavailable
        }).pipe(
          Effect.map((logs) =>
            logs.map((l): LedgerLogEntry => {
              const at = { blockNumber: l.blockNumber, logIndex: l.logIndex }
              switch (l.eventName) {
                case "SessionSettled":
                  return { _tag: l.eventName, sessionKey: l.args.sessionKey, user: toAddress(l.args.user), contentKey: l.args.contentId, amount: l.args.amount, txHash: l.transactionHash, ...at }
                case "SessionPaid":
                  return { _tag: l.eventName, sessionKey: l.args.sessionKey, user: toAddress(l.args.payer), contentKey: l.args.contentId, amount: l.args.amount, txHash: l.transactionHash, ...at }
                case "ContentListed":
                case "ContentUpdated":
                  return { _tag: "Listing", contentKey: l.args.contentId, creator: toAddress(l.args.creator), ...at }
              }
            })
          ),
          Effect.withSpan("LedgerLog.between")
        )
    })
  )
