import { Context, Effect, Option } from "effect"
import { keccak256, toBytes } from "viem"
import type { Address } from "./Address.js"
import type { ChainUnavailable, ListingRefused, NoContentManager, NonceConflict, PaymentNotProven, SettlementRejected } from "./errors.js"

/** Where the backend settles: recorded in the database so a deployment is never mixed with another. */
export interface ChainBinding {
  readonly chainId: number
  readonly usdc: Address
  readonly vault: Address
  readonly wallet: Address
  /** First block worth scanning for the wallet's events (its deployment block). */
  readonly fromBlock: bigint
  /** "in-process" (new at every start) or "rpc". */
  readonly kind: "in-process" | "rpc"
  /**
   * The wallet's immutable `requireAuthorization` flag, read from the chain at start: when true no
   * settlement moves a viewer's funds without the viewer's signed `SessionAuthorization`.
   */
  readonly requireAuthorization: boolean
}

export interface ChainStatus {
  readonly chainId: number
  readonly blockNumber: bigint
}

export interface VaultBalances {
  readonly yieldBalance: bigint
  readonly principal: bigint
}

/** A viewer's figures in the vault: what they hold and how much of it the StreamingWallet may spend. */
export interface Funds {
  readonly balances: VaultBalances
  /** The spending allowance given to the StreamingWallet (`spendAllowance(user, wallet)`). */
  readonly allowance: bigint
}

export interface ContentListing {
  readonly listed: boolean
  readonly price: bigint
  readonly duration: bigint
  readonly creator: Address
}

/**
 * The viewer's consent to one session (the EIP-712 `SessionAuthorization` of docs/CONTRACTS.md): the
 * operator may settle this key of this viewer on this content once, for at most `maxAmount`, until
 * `deadline`. The viewer, content and key are the request's own.
 */
/** The terms a content is listed with on chain (`listContent` / `updateContent`). */
export interface ListingTerms {
  readonly creator: Address
  readonly price: bigint
  readonly duration: bigint
}

export interface SessionAuthorization {
  readonly maxAmount: bigint
  /** Unix time in seconds, inclusive: the last moment the settlement may be mined. */
  readonly deadline: bigint
  /** The viewer's signature of the typed data (65 bytes for an EOA; a contract wallet's EIP-1271 bytes). */
  readonly signature: `0x${string}`
}

export interface SettlementRequest {
  /** Assigned once per session by the database; the contract refuses a second settlement of a key. */
  readonly sessionKey: bigint
  readonly user: Address
  /** Catalogue id; the on-chain id is keccak256 of its UTF-8 bytes. */
  readonly contentId: string
  readonly amount: bigint
  /**
   * The viewer's signed consent. Required by a wallet deployed with `requireAuthorization` (every
   * deployment but the development chain's); checked whenever given.
   */
  readonly authorization?: SessionAuthorization
}

/**
 * A payment found on chain: the operator's `SessionSettled` event, or a viewer's own `SessionPaid`
 * (whose payer is `user`), from a receipt or the logs.
 */
export interface Settlement {
  readonly sessionKey: bigint
  readonly user: Address
  readonly contentKey: `0x${string}`
  readonly amount: bigint
  readonly fromYield: bigint
  readonly fromPrincipal: bigint
  readonly txHash: `0x${string}`
  readonly blockNumber: bigint
  /** Gas used by the whole transaction that carried the settlement. */
  readonly gasUsed: bigint
  /** How many settlements that transaction carried. */
  readonly batchSize: number
}

/** What counts as a session's payment: this key, from this viewer, for this content, for at least the cost. */
export interface ExpectedPayment {
  readonly sessionKey: bigint
  readonly user: Address
  /** Catalogue id. */
  readonly contentId: string
  readonly minAmount: bigint
}

export type BatchOutcome =
  | { readonly _tag: "Settled"; readonly settlement: Settlement }
  | { readonly _tag: "Rejected"; readonly sessionKey: bigint; readonly errorName: string }

/** A transaction of the operator, ready to be signed with a nonce and fees (`Chain.broadcast`). */
export interface OperatorCall {
  readonly to: Address
  readonly data: `0x${string}`
  readonly gas: bigint
}

/** EIP-1559 fees of a transaction, in wei per gas. */
export interface Fees {
  readonly maxFeePerGas: bigint
  readonly maxPriorityFeePerGas: bigint
}

/**
 * Where the operator's transaction (any of the hashes sent with its nonce) stands on the canonical
 * chain: `Unknown` when no node knows any of them (dropped from the mempool, or reorganised away).
 */
export type SentState =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Pending" }
  | {
      readonly _tag: "Mined"
      readonly txHash: `0x${string}`
      readonly blockNumber: bigint
      /** The including block counts as one. */
      readonly confirmations: number
      /** Each request's outcome, in the order given; None when the whole transaction reverted. */
      readonly outcomes: Option.Option<ReadonlyArray<BatchOutcome>>
    }

/**
 * The backend's only door to the chain (DESIGN.md section 3). Adapters (src/chain): `ChainRpc` (the
 * deployment at RPC_URL) and `ChainOnDevChain` (a development chain deployed and funded at start);
 * `ChainFromConfig` picks one.
 */
export class Chain extends Context.Tag("payg/Chain")<
  Chain,
  {
    readonly binding: ChainBinding
    readonly status: Effect.Effect<ChainStatus, ChainUnavailable>
    readonly balancesOf: (user: Address) => Effect.Effect<VaultBalances, ChainUnavailable>
    /** How much the user has consented to let the StreamingWallet spend from the vault. */
    readonly spendAllowance: (user: Address) => Effect.Effect<bigint, ChainUnavailable>
    /**
     * The balances and allowances of `users` as they were at block `block` (None: the newest), in one
     * request whatever their number (a multicall), in the order given.
     */
    readonly fundsAt: (users: ReadonlyArray<Address>, block: Option.Option<bigint>) => Effect.Effect<ReadonlyArray<Funds>, ChainUnavailable>
    readonly contentListing: (contentId: string) => Effect.Effect<ContentListing, ChainUnavailable>
    /** Sends one settlement and waits for its receipt. */
    readonly settle: (request: SettlementRequest) => Effect.Effect<Settlement, ChainUnavailable | SettlementRejected>
    /** Sends many settlements in one transaction; each entry succeeds or is rejected on its own. */
    readonly settleBatch: (
      requests: ReadonlyArray<SettlementRequest>
    ) => Effect.Effect<ReadonlyArray<BatchOutcome>, ChainUnavailable | SettlementRejected>
    /** The settlement already on chain for a key, if any. */
    readonly findSettlement: (sessionKey: bigint) => Effect.Effect<Option.Option<Settlement>, ChainUnavailable>
    /**
     * Checks that a viewer-sent transaction holds the viewer's own payment (`SessionPaid`) of this
     * session, matching `expected` in every field (`paymentMismatch`), with enough confirmations.
     */
    readonly verifyPayment: (txHash: `0x${string}`, expected: ExpectedPayment) => Effect.Effect<Settlement, ChainUnavailable | PaymentNotProven>
    /**
     * Whether `signer` is a contract wallet that accepts `signature` for the EIP-712 digest `hash`
     * (EIP-1271 `isValidSignature`); false for an address without code, as on chain.
     */
    readonly isValidSignature: (signer: Address, hash: `0x${string}`, signature: `0x${string}`) => Effect.Effect<boolean, ChainUnavailable>
    /** A creator's earnings the wallet holds for them: what `withdrawEarnings()` would pay them now. */
    readonly earningsOf: (creator: Address) => Effect.Effect<bigint, ChainUnavailable>
    /** The account that lists content (CONTENT_MANAGER_ROLE), None without a content-manager key (the writes below then fail). */
    readonly contentManager: Option.Option<Address>
    /** Lists a new or delisted content, waiting for the receipt. */
    readonly listContent: (contentId: string, terms: ListingTerms) => Effect.Effect<void, ChainUnavailable | ListingRefused | NoContentManager>
    /** Changes a known content's terms (its listed flag is kept), waiting for the receipt. */
    readonly updateContent: (contentId: string, terms: ListingTerms) => Effect.Effect<void, ChainUnavailable | ListingRefused | NoContentManager>
    /** Delists a listed content, waiting for the receipt: no settlement of it succeeds until it is listed again. */
    readonly delistContent: (contentId: string) => Effect.Effect<void, ChainUnavailable | ListingRefused | NoContentManager>
    /** The operator's address: the sender of every settlement transaction. */
    readonly operator: Address
    /** Blocks (the including one counts) after which a settlement counts as final. */
    readonly confirmations: number
    /** The settleBatch transaction of `requests`, unsigned. */
    readonly prepareSettleBatch: (requests: ReadonlyArray<SettlementRequest>) => OperatorCall
    /** Fees for a transaction to be mined soon, as the node suggests them. */
    readonly suggestFees: Effect.Effect<Fees, ChainUnavailable>
    /** The operator's next nonce as the node sees it, its own mempool included. */
    readonly pendingNonce: Effect.Effect<number, ChainUnavailable>
    /** The number of the newest block. */
    readonly head: Effect.Effect<bigint, ChainUnavailable>
    /** Signs and sends `call` with exactly this nonce and these fees; the hash once a node accepted it. */
    readonly broadcast: (call: OperatorCall, nonce: number, fees: Fees) => Effect.Effect<`0x${string}`, ChainUnavailable | NonceConflict>
    /** The state of the transaction sent under these hashes, with the outcome of each request it carries. */
    readonly sentState: (
      hashes: ReadonlyArray<`0x${string}`>,
      requests: ReadonlyArray<SettlementRequest>
    ) => Effect.Effect<SentState, ChainUnavailable>
    /** Why a reverted settleBatch of `requests` reverted (the custom error's name), by simulating it. */
    readonly explainBatch: (requests: ReadonlyArray<SettlementRequest>) => Effect.Effect<string, ChainUnavailable>
    /** Who and what the vault's and wallet's events of blocks `fromBlock`..`toBlock` (inclusive) touched. */
    readonly activityBetween: (fromBlock: bigint, toBlock: bigint) => Effect.Effect<ChainActivity, ChainUnavailable>
  }
>() {}

/**
 * What a range of blocks changed, as far as the backend's reads go: the addresses named by the
 * indexed fields of the vault's and wallet's events, and the content keys of the wallet's listing
 * events. A superset: an address that is a creator or a spender is named too, which costs one re-read,
 * never a stale answer.
 */
export interface ChainActivity {
  /** Addresses an event other than an operator's settlement named (a deposit, withdrawal, yield, approval, a viewer's own payment). */
  readonly users: ReadonlyArray<Address>
  /**
   * Addresses named only in the operator's settlement transactions (those holding SessionSettled or
   * SettlementRejected): their funds changed by settlements alone, which the database records.
   */
  readonly settled: ReadonlyArray<Address>
  /** Contents listed, updated or delisted. */
  readonly contentKeys: ReadonlyArray<`0x${string}`>
}

/**
 * The first settlement key of an epoch (docs/SECURITY.md, "Settlement keys and payments"): a key is
 * `base + n`, with `n` from the database sequence and the epoch 64 random bits (top bit set) drawn
 * once per server process. A key is therefore new to the chain whatever happened to the database
 * (fresh, wiped, restored from a backup, cloned, in memory and restarted), while one process's
 * consecutive keys still share the contract's 256-bit bitmap words.
 */
export const settlementKeyBase = (epoch: bigint): bigint => (BigInt.asUintN(64, epoch) | (1n << 63n)) << 64n

/** The on-chain content id: keccak256 of the catalogue id's UTF-8 bytes, the same for every adapter. */
export const contentKeyOf = (contentId: string): `0x${string}` => keccak256(toBytes(contentId))

/**
 * Why a payment found on chain is not the expected one, or None when it is. Every field is checked:
 * the one rule for a viewer's own payment (`verifyPayment`) and for adopting a key already settled.
 */
export const paymentMismatch = (paid: Settlement, expected: ExpectedPayment): Option.Option<string> => {
  if (paid.sessionKey !== expected.sessionKey) return Option.some("it is for another session")
  if (paid.user !== expected.user) return Option.some("it was paid by another address")
  if (paid.contentKey !== contentKeyOf(expected.contentId)) return Option.some("it paid for other content")
  if (paid.amount < expected.minAmount) return Option.some(`it paid ${paid.amount}, less than the session's cost ${expected.minAmount}`)
  return Option.none()
}
