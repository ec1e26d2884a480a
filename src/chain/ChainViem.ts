import { Duration, Effect, Layer, Option, Redacted, Schedule } from "effect"
import {
  type Account,
  BaseError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  type Chain as ViemChain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  isHex,
  getAbiItem,
  parseAbi,
  parseEventLogs,
  toEventSelector,
  toFunctionSelector,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  encodeFunctionData,
  fallback,
  webSocket
} from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { AppConfig } from "../config.js"
import { type Address, toAddress } from "../domain/Address.js"
import {
  type BatchOutcome,
  Chain,
  type ChainActivity,
  type ChainBinding,
  type ExpectedPayment,
  type Fees,
  type Funds,
  type OperatorCall,
  type SentState,
  type Settlement,
  type SettlementRequest,
  contentKeyOf,
  paymentMismatch
} from "../domain/Chain.js"
import { ChainUnavailable, NonceConflict, PaymentNotProven, SettlementRejected } from "../domain/errors.js"
import { trackChainCall } from "../metrics/Metrics.js"
import { StartupError } from "../platform/StartupError.js"
import { authorizationArgs } from "./authorization.js"
import { streamingWalletAbi, yieldVaultAbi } from "./contracts.js"
import { classify, isNonceRefusal, shortReason, unavailable } from "./errors.js"
import { listingWrites } from "./listings.js"

export interface ChainClients {
  readonly publicClient: PublicClient<Transport, ViemChain>
  readonly walletClient: WalletClient<Transport, ViemChain, Account>
  /** The deployment; its `requireAuthorization` flag is read from the wallet by `makeChain`. */
  readonly binding: Omit<ChainBinding, "requireAuthorization">
  readonly confirmations: number
  readonly timeout: Duration.Duration
  /** The account that lists content (CONTENT_MANAGER_ROLE), if any: the Chain port's listing writes. */
  readonly contentManager: Option.Option<WalletClient<Transport, ViemChain, Account>>
}

/**
 * Gas limit of a settleBatch of `n`: the transaction's base and calldata, then per entry the worst
 * case measured in bench/gas.md (a cold entry: new user position, new creator ledger, new bitmap
 * word, about 100k) with headroom. Unused gas is refunded; the limit only bounds the fee reserved.
 */
export const batchGasLimit = (n: number): bigint => 60_000n + 130_000n * BigInt(n)

/** Retries transport failures with backoff; a revert is never retried. */
const retryTransient = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.retry(effect, {
    schedule: Schedule.exponential(Duration.millis(100), 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3))),
    while: (e) => e._tag === "ChainUnavailable"
  })

/**
 * The Chain port over viem clients: shared by the RPC adapter (`ChainRpc`) and the development one
 * (`ChainOnDevChain`). Writes are serialised (one operator, one nonce sequence). A single `settle` is
 * simulated before it is sent, so its revert comes back typed; a `settleBatch` is sent unsimulated and
 * only a reverted batch is simulated afterwards, to name the revert.
 */
export const makeChain = (clients: ChainClients) =>
  Effect.gen(function* () {
    const { confirmations, publicClient, walletClient } = clients
    const wallet = clients.binding.wallet
    const vault = clients.binding.vault
    const sendLock = yield* Effect.makeSemaphore(1)

    const read = <A>(label: string, f: () => Promise<A>): Effect.Effect<A, ChainUnavailable> =>
      Effect.tryPromise({ try: f, catch: unavailable }).pipe(
        Effect.timeoutFail({ duration: clients.timeout, onTimeout: () => new ChainUnavailable({ reason: `${label} timed out` }) }),
        retryTransient,
        trackChainCall(label),
        Effect.withSpan(`Chain.${label}`)
      )

    // immutable on chain: read once, kept in the binding (and shown by /api/status)
    const requireAuthorization = yield* read("requireAuthorization", () =>
      publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "requireAuthorization" })
    ).pipe(Effect.mapError((e) => new StartupError({ reason: `cannot read the StreamingWallet's requireAuthorization flag at ${wallet}: ${e.reason}` })))
    const binding: ChainBinding = { ...clients.binding, requireAuthorization }

    const settledEvent = [getAbiItem({ abi: streamingWalletAbi, name: "SessionSettled" })]
    const rejectedEvent = [getAbiItem({ abi: streamingWalletAbi, name: "SettlementRejected" })]
    const paidEvent = [getAbiItem({ abi: streamingWalletAbi, name: "SessionPaid" })]
    // Logs are decoded through an ABI of the one event wanted (above): viem hashes the selector of
    // every event of the ABI for every log it tries, which was the largest JavaScript cost of a
    // 100-entry batch (its 200 logs, twice).
    /** The wallet's own logs in a receipt (a token's or the vault's are left out before decoding). */
    const walletLogs = <L extends { readonly address: string }>(logs: ReadonlyArray<L>): Array<L> =>
      logs.filter((l) => l.address.toLowerCase() === wallet)

    const toSettlement = (
      log: { readonly args: { readonly sessionKey: bigint; readonly user: Hex; readonly contentId: Hex; readonly amount: bigint; readonly fromYield: bigint; readonly fromPrincipal: bigint } },
      receipt: { readonly transactionHash: Hex; readonly blockNumber: bigint; readonly gasUsed: bigint },
      batchSize: number
    ): Settlement => ({
      sessionKey: log.args.sessionKey,
      user: toAddress(log.args.user),
      contentKey: log.args.contentId,
      amount: log.args.amount,
      fromYield: log.args.fromYield,
      fromPrincipal: log.args.fromPrincipal,
      txHash: receipt.transactionHash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      batchSize
    })

    type WriteRequest = Parameters<typeof walletClient.writeContract>[0]
    type Receipt = Awaited<ReturnType<typeof publicClient.getTransactionReceipt>>

    /** Each request's outcome in a settleBatch receipt: its SessionSettled, or its SettlementRejected. */
    const outcomesOf = (receipt: Receipt, requests: ReadonlyArray<SettlementRequest>): ReadonlyArray<BatchOutcome> => {
      const ours = walletLogs(receipt.logs)
      const settled = parseEventLogs({ abi: settledEvent, logs: ours })
      const rejected = parseEventLogs({ abi: rejectedEvent, logs: ours })
      const settledByKey = new Map(settled.map((l) => [l.args.sessionKey, l]))
      const rejectedByKey = new Map(rejected.map((l) => [l.args.sessionKey, l]))
      return requests.map((r): BatchOutcome => {
        const ok = settledByKey.get(r.sessionKey)
        if (ok) return { _tag: "Settled", settlement: toSettlement(ok, receipt, settled.length) }
        const bad = rejectedByKey.get(r.sessionKey)
        return { _tag: "Rejected", sessionKey: r.sessionKey, errorName: bad ? errorNameOf(bad.args.reason) : "Rejected" }
      })
    }

    /**
     * Prepares (`prepare`), sends and waits for the receipt, holding the operator's nonce sequence
     * throughout. A reverted receipt is explained by `explain` (the revert, decoded), when given.
     */
    const send = (label: string, prepare: () => Promise<WriteRequest>, explain?: () => Promise<unknown>) =>
      Effect.gen(function* () {
        const request = yield* Effect.tryPromise({ try: prepare, catch: classify })
        const hash = yield* Effect.tryPromise({ try: () => walletClient.writeContract(request), catch: classify })
        const receipt = yield* Effect.tryPromise({
          try: () => publicClient.waitForTransactionReceipt({ hash, confirmations, timeout: Duration.toMillis(clients.timeout) }),
          catch: unavailable
        })
        if (receipt.status !== "success") {
          if (explain !== undefined) yield* Effect.tryPromise({ try: explain, catch: classify })
          return yield* new SettlementRejected({ errorName: "TransactionReverted", reason: `transaction ${hash} reverted` })
        }
        return receipt
      }).pipe(trackChainCall(label), sendLock.withPermits(1), Effect.withSpan(`Chain.${label}`))

    // one settlement is simulated first: a revert (not enough funds, already settled) comes back typed
    const settle = (r: SettlementRequest) =>
      send("settle", () =>
        publicClient
          .simulateContract({
            account: walletClient.account,
            address: wallet,
            abi: streamingWalletAbi,
            functionName: "settle",
            args: settleArgs(r)
          })
          .then((simulated) => simulated.request)
      ).pipe(
        Effect.flatMap((receipt) => {
          const logs = parseEventLogs({ abi: settledEvent, logs: walletLogs(receipt.logs) })
          const log = logs.find((l) => l.args.sessionKey === r.sessionKey)
          return log
            ? Effect.succeed(toSettlement(log, receipt, 1))
            : Effect.fail(new SettlementRejected({ errorName: "MissingEvent", reason: "the receipt has no SessionSettled event" }))
        })
      )

    /**
     * A batch is sent as it is, with a gas limit from the per-entry bound, and executed once: no
     * simulation and no estimate (each is a full execution of the batch, and Hardhat's estimate several).
     * An entry cannot revert the batch (the wallet rejects it in an event), so only a whole-batch
     * refusal (role, pause) reverts; that receipt is then explained by simulating the call.
     */
    const settleBatch = (requests: ReadonlyArray<SettlementRequest>) => {
      const call = {
        account: walletClient.account,
        address: wallet,
        abi: streamingWalletAbi,
        functionName: "settleBatch",
        args: [requests.map(batchEntry)]
      } as const
      return send(
        "settleBatch",
        () => Promise.resolve({ ...call, chain: walletClient.chain, gas: batchGasLimit(requests.length) }),
        () => publicClient.simulateContract(call)
      ).pipe(Effect.map((receipt) => outcomesOf(receipt, requests)))
    }

    const findSettlement = (sessionKey: bigint) =>
      Effect.gen(function* () {
        const settled = yield* read("isSettled", () =>
          publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "isSettled", args: [sessionKey] })
        )
        if (!settled) return Option.none<Settlement>()
        const logs = yield* read("getContractEvents", () =>
          publicClient.getContractEvents({
            address: wallet,
            abi: streamingWalletAbi,
            eventName: "SessionSettled",
            args: { sessionKey },
            fromBlock: binding.fromBlock,
            strict: true
          })
        )
        const log = logs[0]
        if (!log) return Option.none<Settlement>()
        const receipt = yield* read("getTransactionReceipt", () => publicClient.getTransactionReceipt({ hash: log.transactionHash }))
        const inTx = parseEventLogs({ abi: settledEvent, logs: walletLogs(receipt.logs) })
        return Option.some(toSettlement(log, receipt, inTx.length))
      })

    /** Only a viewer's own payment (SessionPaid) counts: the operator's settlements are not the viewer's proof. */
    const verifyPayment = (txHash: Hex, expected: ExpectedPayment) =>
      Effect.gen(function* () {
        const notProven = (reason: string) => new PaymentNotProven({ txHash, reason })
        const receipt = yield* Effect.tryPromise({
          try: () => publicClient.getTransactionReceipt({ hash: txHash }),
          catch: (e) => (e instanceof Error && /could not be found|not found/i.test(e.message) ? notProven("transaction not found") : unavailable(e))
        })
        if (receipt.status !== "success") return yield* notProven("the transaction failed")
        const payments = parseEventLogs({ abi: paidEvent, logs: walletLogs(receipt.logs) }).map((l) =>
          toSettlement({ args: { ...l.args, user: l.args.payer } }, receipt, 1)
        )
        const forKey = payments.filter((p) => p.sessionKey === expected.sessionKey)
        const paid = forKey.find((p) => p.user === expected.user) ?? forKey[0]
        if (!paid) return yield* notProven("it holds no SessionPaid event for this session")
        const mismatch = paymentMismatch(paid, expected)
        if (Option.isSome(mismatch)) return yield* notProven(mismatch.value)
        const head = yield* read("getBlockNumber", () => publicClient.getBlockNumber({ cacheTime: 0 }))
        const seen = head - receipt.blockNumber + 1n
        if (seen < BigInt(confirmations)) return yield* notProven(`it has ${seen} of ${confirmations} confirmations; retry later`)
        return paid
      }).pipe(Effect.withSpan("Chain.verifyPayment"))

    const batchCall = (requests: ReadonlyArray<SettlementRequest>) =>
      ({ account: walletClient.account, address: wallet, abi: streamingWalletAbi, functionName: "settleBatch", args: [requests.map(batchEntry)] }) as const

    const head = read("getBlockNumber", () => publicClient.getBlockNumber({ cacheTime: 0 }))

    /** A transaction the node knows (mempool or chain); a hash it never saw or forgot is None. */
    const known = (hash: Hex) =>
      Effect.tryPromise({
        try: () => publicClient.getTransaction({ hash }).then(() => true),
        catch: (e) => e
      }).pipe(
        Effect.catchAll((e) => (e instanceof TransactionNotFoundError ? Effect.succeed(false) : Effect.fail(unavailable(e)))),
        retryTransient
      )
    const receiptOf = (hash: Hex) =>
      Effect.tryPromise({ try: () => publicClient.getTransactionReceipt({ hash }), catch: (e) => e }).pipe(
        Effect.map(Option.some),
        Effect.catchAll((e) => (e instanceof TransactionReceiptNotFoundError ? Effect.succeed(Option.none<Receipt>()) : Effect.fail(unavailable(e)))),
        retryTransient
      )

    const sentState = (hashes: ReadonlyArray<Hex>, requests: ReadonlyArray<SettlementRequest>) =>
      Effect.gen(function* () {
        // the newest first: after a replacement it is the likeliest to be mined
        for (const hash of [...hashes].reverse()) {
          const receipt = yield* receiptOf(hash)
          if (Option.isNone(receipt)) continue
          const top = yield* head
          const r = receipt.value
          const state: SentState = {
            _tag: "Mined",
            txHash: r.transactionHash,
            blockNumber: r.blockNumber,
            confirmations: Number(top - r.blockNumber + 1n),
            outcomes: r.status === "success" ? Option.some(outcomesOf(r, requests)) : Option.none()
          }
          return state
        }
        const seen = yield* Effect.forEach(hashes, known)
        const state: SentState = seen.some((x) => x) ? { _tag: "Pending" } : { _tag: "Unknown" }
        return state
      }).pipe(trackChainCall("sentState"), Effect.withSpan("Chain.sentState"))

    const account = walletClient.account
    /**
     * The operator's transaction with this nonce and these fees, on the wire: a local key signs it here
     * and it goes out raw (one request: no chain id, nonce, fee or gas look-up); an account the node
     * holds (the development chain's) is sent for the node to sign.
     */
    const submitTx = (call: OperatorCall, nonce: number, fees: Fees): Promise<Hex> => {
      const tx = {
        to: call.to,
        data: call.data,
        gas: call.gas,
        nonce,
        type: "eip1559",
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas
      } as const
      if (account.type === "local") {
        return account
          .signTransaction({ ...tx, chainId: clients.binding.chainId })
          .then((serializedTransaction) => publicClient.sendRawTransaction({ serializedTransaction }))
      }
      return walletClient.sendTransaction({ ...tx, account, chain: walletClient.chain })
    }

    const broadcast = (call: OperatorCall, nonce: number, fees: Fees) =>
      Effect.tryPromise({
        try: () => submitTx(call, nonce, fees),
        catch: (e) => (isNonceRefusal(e) ? new NonceConflict({ nonce, reason: shortReason(e) }) : unavailable(e))
      }).pipe(
        Effect.timeoutFail({ duration: clients.timeout, onTimeout: () => new ChainUnavailable({ reason: "sending timed out" }) }),
        trackChainCall("broadcast"),
        Effect.withSpan("Chain.broadcast", { attributes: { nonce } })
      )

    return Chain.of({
      binding,
      operator: toAddress(walletClient.account.address),
      confirmations,
      prepareSettleBatch: (requests) => ({
        to: wallet,
        data: encodeFunctionData({ abi: streamingWalletAbi, functionName: "settleBatch", args: [requests.map(batchEntry)] }),
        gas: batchGasLimit(requests.length)
      }),
      suggestFees: read("estimateFeesPerGas", () => publicClient.estimateFeesPerGas({ type: "eip1559" })).pipe(
        Effect.map((f) => ({ maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas }))
      ),
      pendingNonce: read("getTransactionCount", () => publicClient.getTransactionCount({ address: walletClient.account.address, blockTag: "pending" })),
      head,
      broadcast,
      sentState,
      explainBatch: (requests) =>
        Effect.tryPromise({ try: () => publicClient.simulateContract(batchCall(requests)), catch: classify }).pipe(
          Effect.map(() => "TransactionReverted"),
          Effect.catchTag("SettlementRejected", (e) => Effect.succeed(e.errorName))
        ),
      status: Effect.all({
        chainId: read("getChainId", () => publicClient.getChainId()),
        blockNumber: read("getBlockNumber", () => publicClient.getBlockNumber({ cacheTime: 0 }))
      }),
      balancesOf: (user) =>
        read("balancesOf", () => publicClient.readContract({ address: vault, abi: yieldVaultAbi, functionName: "balancesOf", args: [user] })).pipe(
          Effect.map(([yieldBalance, principal]) => ({ yieldBalance, principal }))
        ),
      spendAllowance: (user) =>
        read("spendAllowance", () =>
          publicClient.readContract({ address: vault, abi: yieldVaultAbi, functionName: "spendAllowance", args: [user, wallet] })
        ),
      fundsAt: (users, block) =>
        users.length === 0
          ? Effect.succeed([])
          : read("fundsAt", () =>
              publicClient.multicall({
                contracts: users.flatMap((user) => [
                  { address: vault, abi: yieldVaultAbi, functionName: "balancesOf", args: [user] },
                  { address: vault, abi: yieldVaultAbi, functionName: "spendAllowance", args: [user, wallet] }
                ]),
                allowFailure: false,
                // no Multicall3 on a development chain: its code goes with the call; batchSize 0 keeps it one request
                deployless: true,
                batchSize: 0,
                ...Option.match(block, { onNone: () => ({ blockTag: "latest" }) as const, onSome: (blockNumber) => ({ blockNumber }) })
              })
            ).pipe(Effect.flatMap((answers) => fundsOf(users.length, answers))),
      contentListing: (contentId) =>
        read("contentOf", () =>
          publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [contentKeyOf(contentId)] })
        ).pipe(Effect.map(([creator, price, duration, listed]) => ({ creator: toAddress(creator), price, duration, listed }))),
      settle,
      settleBatch,
      findSettlement,
      verifyPayment,
      isValidSignature: (signer, hash, signature) =>
        Effect.gen(function* () {
          const code = yield* read("getCode", () => publicClient.getCode({ address: signer }))
          if (code === undefined || code === "0x") return false
          // a wallet that reverts or answers anything but the magic value refuses the signature, as on chain
          const answer = yield* read("isValidSignature", () =>
            publicClient.readContract({ address: signer, abi: erc1271Abi, functionName: "isValidSignature", args: [hash, signature] }).catch((e: unknown) => {
              if (e instanceof BaseError && e.walk((x) => x instanceof ContractFunctionRevertedError || x instanceof ContractFunctionZeroDataError) !== null) return "0x"
              throw e
            })
          )
          return answer === EIP1271_MAGIC
        }),
      earningsOf: (creator) =>
        read("earningsOf", () => publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "earningsOf", args: [creator] })),
      ...listingWrites({ publicClient, contentManager: clients.contentManager, wallet, confirmations, timeout: clients.timeout, sendLock }),
      activityBetween: (fromBlock, toBlock) =>
        read("getLogs", () => publicClient.getLogs({ address: [vault, wallet], fromBlock, toBlock })).pipe(Effect.map((logs) => activityOf(logs, wallet)))
    })
  })

/** EIP-1271: a contract wallet's signature check, and the value it returns for a valid signature. */
const erc1271Abi = parseAbi(["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"])
const EIP1271_MAGIC = "0x1626ba7e"

/** An indexed field holding an address: 12 zero bytes, then the 20 bytes of the address. */
const addressTopic = /^0x0{24}([0-9a-f]{40})$/

/** The wallet's events only the operator's settlement transactions (`settle`, `settleBatch`) emit. */
const settlementTopics: ReadonlySet<Hex> = new Set([
  toEventSelector(getAbiItem({ abi: streamingWalletAbi, name: "SessionSettled" })),
  toEventSelector(getAbiItem({ abi: streamingWalletAbi, name: "SettlementRejected" }))
])
/** The wallet's events that change a listing (the content key is their first indexed field). */
const listingTopics: ReadonlySet<Hex> = new Set([
  toEventSelector(getAbiItem({ abi: streamingWalletAbi, name: "ContentListed" })),
  toEventSelector(getAbiItem({ abi: streamingWalletAbi, name: "ContentUpdated" })),
  toEventSelector(getAbiItem({ abi: streamingWalletAbi, name: "ContentDelisted" }))
])

const isBigintPair = (x: unknown): x is readonly [bigint, bigint] =>
  Array.isArray(x) && x.length === 2 && x.every((v: unknown) => typeof v === "bigint")

/** The balances and allowance of each of `n` users from a multicall's answers (two per user, in order). */
const fundsOf = (n: number, answers: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Funds>, ChainUnavailable> => {
  const funds: Array<Funds> = []
  for (let i = 0; i < n; i++) {
    const balances = answers[2 * i]
    const allowance = answers[2 * i + 1]
    if (!isBigintPair(balances) || typeof allowance !== "bigint") {
      return Effect.fail(new ChainUnavailable({ reason: "the node's answer to the funds multicall is malformed" }))
    }
    funds.push({ balances: { yieldBalance: balances[0], principal: balances[1] }, allowance })
  }
  return Effect.succeed(funds)
}

/**
 * The addresses the logs' indexed fields name (topic 0, the event's signature, left out), split by
 * what named them: the operator's settlement transactions (those holding a `settlementTopics` event of
 * `wallet`) or anything else; and the content keys of `wallet`'s listing events (a settlement names
 * its content too, but changes no listing).
 */
export const activityOf = (
  logs: ReadonlyArray<{ readonly address: Hex; readonly topics: ReadonlyArray<Hex | null>; readonly transactionHash: Hex | null }>,
  wallet: Address
): ChainActivity => {
  const settlementTxs = new Set<Hex>()
  for (const log of logs) {
    const topic = log.topics[0]
    if (log.transactionHash !== null && topic !== undefined && topic !== null && log.address.toLowerCase() === wallet && settlementTopics.has(topic)) settlementTxs.add(log.transactionHash)
  }
  const users = new Set<Address>()
  const settled = new Set<Address>()
  const contentKeys = new Set<Hex>()
  for (const log of logs) {
    const bySettlement = log.transactionHash !== null && settlementTxs.has(log.transactionHash)
    const [signature, key] = log.topics
    if (key !== undefined && key !== null && signature !== undefined && signature !== null && log.address.toLowerCase() === wallet && listingTopics.has(signature)) {
      contentKeys.add(`0x${key.slice(2).toLowerCase()}`)
    }
    for (const topic of log.topics.slice(1)) {
      if (topic === null) continue
      const address = addressTopic.exec(topic.toLowerCase())?.[1]
      if (address !== undefined) (bySettlement ? settled : users).add(toAddress(`0x${address}`))
    }
  }
  return { users: [...users], settled: [...settled].filter((a) => !users.has(a)), contentKeys: [...contentKeys] }
}

/** `settle`'s arguments: the request and the viewer's authorization (empty fields when it carries none). */
const settleArgs = (r: SettlementRequest) => {
  const a = authorizationArgs(r)
  return [r.sessionKey, r.user, contentKeyOf(r.contentId), r.amount, a.maxAmount, a.deadline, a.signature] as const
}

/** One `settleBatch` entry: the request and the viewer's authorization. */
const batchEntry = (r: SettlementRequest) => ({ sessionKey: r.sessionKey, user: r.user, contentId: contentKeyOf(r.contentId), amount: r.amount, ...authorizationArgs(r) })

/** Selectors of the wallet's and vault's custom errors, for the reasons a batch reports. */
const errorSelectors: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>()
  for (const item of [...streamingWalletAbi, ...yieldVaultAbi]) {
    if (item.type === "error") m.set(toFunctionSelector(`${item.name}(${item.inputs.map((i) => i.type).join(",")})`), item.name)
  }
  return m
})()


const errorNameOf = (selector: Hex): string => errorSelectors.get(selector.toLowerCase()) ?? selector

/** CONTENT_MANAGER_KEY's wallet client, if the key is set (it must be a 32-byte hex key). */
const contentManagerClient = (
  key: Option.Option<Redacted.Redacted>,
  client: (account: Account) => WalletClient<Transport, ViemChain, Account>
) =>
  Option.match(key, {
    onNone: () => Effect.succeed(Option.none<WalletClient<Transport, ViemChain, Account>>()),
    onSome: (k) => {
      const secret = Redacted.value(k)
      return isHex(secret)
        ? Effect.succeed(Option.some(client(privateKeyToAccount(secret))))
        : Effect.fail(new StartupError({ reason: "CONTENT_MANAGER_KEY must be 0x followed by 64 hexadecimal digits" }))
    }
  })

/** RPC_URL's endpoints: one URL, or several separated by commas (tried in order). */
export const rpcUrlsOf = (value: string): ReadonlyArray<string> =>
  value
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u.length > 0)

/**
 * One transport over RPC_URL's endpoints: each retries a rate-limited (429) or failed request with
 * exponential backoff (viem's; a Retry-After header is honoured), and with several endpoints viem's
 * `fallback` moves to the next one when an endpoint keeps failing.
 */
const rpcTransport = (urls: ReadonlyArray<string>, timeout: Duration.Duration): Transport => {
  const one = (u: string) =>
    u.startsWith("ws")
      ? webSocket(u, { timeout: Duration.toMillis(timeout), retryCount: 2, retryDelay: 250 })
      : http(u, { timeout: Duration.toMillis(timeout), retryCount: 2, retryDelay: 250 })
  const [first, ...rest] = urls.map(one)
  if (first === undefined) return http()
  return rest.length === 0 ? first : fallback([first, ...rest], { retryCount: 1 })
}

/**
 * The `Chain` port over RPC_URL with PRIVATE_KEY as operator and the deployment named by the
 * *_ADDRESS variables (Sepolia, or a `npm run chain` node): nothing is deployed or funded here.
 */
export const ChainRpc = Layer.scoped(
  Chain,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const c = config.chain
    const need = <A>(o: Option.Option<A>, name: string) =>
      Option.match(o, { onNone: () => Effect.fail(new StartupError({ reason: `${name} is required when RPC_URL is set` })), onSome: Effect.succeed })
    const rpcUrl = yield* need(c.rpcUrl, "RPC_URL")
    const key = yield* need(c.privateKey, "PRIVATE_KEY")
    const usdc = yield* need(c.usdc, "MOCK_USDC_ADDRESS")
    const vault = yield* need(c.vault, "YIELD_VAULT_ADDRESS")
    const wallet = yield* need(c.wallet, "STREAMING_WALLET_ADDRESS")
    const urls = rpcUrlsOf(Redacted.value(rpcUrl))
    const transport = rpcTransport(urls, c.timeout)
    const probe = createPublicClient({ transport })
    const chainId = yield* Effect.tryPromise({ try: () => probe.getChainId(), catch: unavailable }).pipe(
      Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new ChainUnavailable({ reason: "no answer within 10 s" }) }),
      Effect.mapError((e) => new StartupError({ reason: `RPC_URL: cannot reach the chain (${e.reason})` }))
    )
    if (Option.isSome(c.networkId) && c.networkId.value !== chainId) {
      return yield* new StartupError({ reason: `NETWORK_ID is ${c.networkId.value} but RPC_URL serves chain ${chainId}` })
    }
    const chain = defineChain({
      id: chainId,
      name: `chain-${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: urls } }
    })
    const local = chainId === 31337
    const publicClient = createPublicClient({ chain, transport, pollingInterval: local ? 50 : 2_000 })
    const secret = Redacted.value(key)
    if (!isHex(secret)) return yield* new StartupError({ reason: "PRIVATE_KEY must be 0x followed by 64 hexadecimal digits" })
    const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(secret) })
    const contentManager = yield* contentManagerClient(config.admin.contentManagerKey, (account) => createWalletClient({ chain, transport, account }))
    return yield* makeChain({
      publicClient,
      walletClient,
      contentManager,
      confirmations: Option.getOrElse(c.confirmations, () => (local ? 1 : 3)),
      timeout: c.timeout,
      binding: {
        chainId,
        usdc: toAddress(usdc),
        vault: toAddress(vault),
        wallet: toAddress(wallet),
        fromBlock: Option.getOrElse(c.deploymentBlock, () => 0n),
        kind: "rpc"
      }
    })
  })
)
