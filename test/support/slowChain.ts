import { Effect } from "effect"
import { type Hex, createPublicClient, createTestClient, http } from "viem"
import { hardhat } from "viem/chains"
import { hardhatNodeWith } from "./hardhatNode.js"
import { rpcProxy } from "./rpcProxy.js"

/**
 * A chain that behaves like a public one: a `hardhat node` that mines a block every `blockTimeMs`
 * (interval mining, automine off: a transaction waits in the mempool for the next block), behind an
 * in-process JSON-RPC proxy that adds `latencyMs` to each request and injects faults on command
 * (`proxy`). The app is pointed at `url` (the proxy); the test's own calls (`direct`) go to the node.
 *
 * Contracts are deployed while the node still automines (`slowDown` switches to intervals afterwards),
 * so a test does not wait a block per deployment transaction.
 */
export const slowChain = (options: { readonly blockTimeMs: number; readonly latencyMs?: number }) =>
  Effect.gen(function* () {
    const node = yield* hardhatNodeWith({})
    const proxy = yield* rpcProxy(node.url, { latencyMs: options.latencyMs ?? 0 })
    const transport = http(node.url, { retryCount: 0 })
    const test = createTestClient({ mode: "hardhat", chain: hardhat, transport })
    const direct = createPublicClient({ chain: hardhat, transport, pollingInterval: 20, cacheTime: 0 })
    const call = <A>(f: () => Promise<A>) => Effect.promise(f)
    return {
      /** The proxy's URL: what the app gets as RPC_URL. */
      url: proxy.url,
      /** The node itself, for deployment and the test's own reads. */
      nodeUrl: node.url,
      proxy,
      direct,
      test,
      /** From now on: no automining, a block every `blockTimeMs` (or `ms`). */
      slowDown: (ms: number = options.blockTimeMs) =>
        call(async () => {
          await test.setAutomine(false)
          // viem's hardhat dialect takes seconds
          await test.setIntervalMining({ interval: ms / 1000 })
        }),
      /** Stops interval mining (blocks only when `mine` is called). */
      halt: call(() => test.setIntervalMining({ interval: 0 })),
      mine: (blocks: number) => call(() => test.mine({ blocks })),
      /** A snapshot to reorganise back to (`reorgTo`). */
      snapshot: call(() => test.snapshot()),
      /**
       * A reorganisation: every block after the snapshot is replaced (their transactions are gone from
       * the chain and from the mempool), and `blocks` empty blocks are mined on top, so the new chain
       * is as long or longer.
       */
      reorgTo: (id: Hex, blocks: number) =>
        call(async () => {
          await test.revert({ id })
          await test.mine({ blocks })
        }),
      /** A stuck transaction: the node forgets it (as a mempool evicts one). */
      drop: (hash: Hex) => call(() => test.dropTransaction({ hash })),
      /** The next block's base fee: a high one leaves every transaction with a lower fee cap waiting. */
      setNextBaseFee: (wei: bigint) => call(() => test.setNextBlockBaseFeePerGas({ baseFeePerGas: wei })),
      pendingHashes: call(async () => (await direct.getBlock({ blockTag: "pending" })).transactions),
      head: call(() => direct.getBlockNumber())
    }
  })
