import { Duration, Effect, Layer, Option, Redacted, Schedule } from "effect"
import {
  type Account,
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
  parseEventLogs,
  toFunctionSelector,
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
  type Settlement,
  type SettlementRequest,
  contentKeyOf,
  paymentMismatch
} from "../domain/Chain.js"
import { ChainUnavailable, PaymentNotProven, SettlementRejected } from "../domain/errors.js"
import { trackChainCall } from "../metrics/Metrics.js"
import { StartupError } from "../platform/StartupError.js"
import { authorizationArgs } from "./authorization.js"
import { streamingWalletAbi, yieldVaultAbi } from "./contracts.js"
import { classify, unavailable } from "./errors.js"

export interface ChainClients {
  readonly publicClient: PublicClient<Transport, ViemChain>
  readonly walletClient: WalletClient<Transport, ViemChain, Account>
  readonly binding: ChainBinding
  readonly confirmations: number
  readonly timeout: Duration.Duration
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
    const { binding, confirmations, publicClient, walletClient } = clients
    const wallet = binding.wallet
    const vault = binding.vault
    const sendLock = yield* Effect.makeSemaphore(1)

    const read = <A>(label: string, f: () => Promise<A>): Effect.Effect<A, ChainUnavailable> =>
      Effect.tryPromise({ try: f, catch: unavailable }).pipe(
        Effect.timeoutFail({ duration: clients.timeout, onTimeout: () => new ChainUnavailable({ reason: `${label} timed out` }) }),
        retryTransient,
        trackChainCall(label),
        Effect.withSpan(`Chain.${label}`)
      )

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
      ).pipe(
        Effect.map((receipt): ReadonlyArray<BatchOutcome> => {
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
        })
      )
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

    return Chain.of({
      binding,
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
      contentListing: (contentId) =>
        read("contentOf", () =>
          publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [contentKeyOf(contentId)] })
        ).pipe(Effect.map(([creator, price, duration, listed]) => ({ creator: toAddress(creator), price, duration, listed }))),
      settle,
      settleBatch,
      findSettlement,
      verifyPayment,
      blockNumber: read("getBlockNumber", () => publicClient.getBlockNumber({ cacheTime: 0 })),
      activityBetween: (fromBlock, toBlock) =>
        read("getLogs", () => publicClient.getLogs({ address: [vault, wallet], fromBlock, toBlock })).pipe(Effect.map(activityOf))
    })
  })

/** An indexed field holding an address: 12 zero bytes, then the 20 bytes of the address. */
const addressTopic = /^0x0{24}([0-9a-f]{40})$/

/** The addresses and 32-byte keys the logs' indexed fields name (topic 0, the event's signature, left out). */
export const activityOf = (logs: ReadonlyArray<{ readonly topics: ReadonlyArray<Hex | null> }>): ChainActivity => {
  const users = new Set<Address>()
  const contentKeys = new Set<Hex>()
  for (const log of logs) {
    for (const topic of log.topics.slice(1)) {
      if (topic === null) continue
      const lower: Hex = `0x${topic.slice(2).toLowerCase()}`
      const address = addressTopic.exec(lower)?.[1]
      if (address !== undefined) users.add(toAddress(`0x${address}`))
      else contentKeys.add(lower)
    }
  }
  return { users: [...users], contentKeys: [...contentKeys] }
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
    const url = Redacted.value(rpcUrl)
    const transport = url.startsWith("ws") ? webSocket(url, { timeout: Duration.toMillis(c.timeout) }) : http(url, { timeout: Duration.toMillis(c.timeout), retryCount: 0 })
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
      rpcUrls: { default: { http: [url] } }
    })
    const local = chainId === 31337
    const publicClient = createPublicClient({ chain, transport, pollingInterval: local ? 50 : 2_000 })
    const secret = Redacted.value(key)
    if (!isHex(secret)) return yield* new StartupError({ reason: "PRIVATE_KEY must be 0x followed by 64 hexadecimal digits" })
    const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(secret) })
    return yield* makeChain({
      publicClient,
      walletClient,
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
