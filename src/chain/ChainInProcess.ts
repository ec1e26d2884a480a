import { Context, Duration, Effect, Layer, Option } from "effect"
import {
  type Account,
  type Chain as ViemChain,
  type Hex,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createTestClient,
  createWalletClient,
  custom,
  defineChain,
  http
} from "viem"
import { type Address, toAddress } from "../domain/Address.js"
import { Chain, contentKeyOf } from "../domain/Chain.js"
import { demoCatalogue, seedViewer } from "../content/catalogue.js"
import { StartupError } from "../platform/StartupError.js"
import { mockUsdcAbi, streamingWalletAbi, yieldVaultAbi } from "./contracts.js"
import { makeChain } from "./ChainViem.js"
import { deployPaygContracts } from "./deploy.js"

/**
 * Development chains: Hardhat's in-process EDR chain (what the server runs on when RPC_URL is unset:
 * new at every start, the contracts deployed, the demo catalogue listed and the demo viewers funded,
 * so the seed's curl examples work), or a `hardhat node` the tests and scripts start. The layers:
 *
 * - `DevChain`: the handle only a development chain allows (deploy, fund, list, impersonate).
 * - `DevChainDeployment`: deploys the contracts on such a chain and provides `DevChain`.
 * - `ChainOnDevChain`: the `Chain` port over that deployment, with the dev chain's operator.
 * - `ChainAndDevInProcess`: both, on a fresh in-process chain.
 *
 * (`ChainFromConfig` picks between this and `ChainRpc`.)
 */

const hardhatChain = defineChain({
  id: 31337,
  name: "Hardhat (in-process)",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: ["http://127.0.0.1:8545"] } }
})

/** Hardhat's default accounts #1-#5: demo viewers with USDC in the vault. */
export const demoAccounts: ReadonlyArray<Address> = [
  "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
  "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
  "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
  "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc"
].map(toAddress)

const USDC = 1_000_000n

export interface Funding {
  readonly principal: bigint
  readonly yieldAmount: bigint
  /** The bounded spending consent given to the StreamingWallet. */
  readonly allowance: bigint
}

export interface Deployment {
  readonly usdc: Hex
  readonly vault: Hex
  readonly wallet: Hex
  readonly fromBlock: bigint
}

type Clients = {
  readonly transport: Transport
  readonly publicClient: PublicClient<Transport, ViemChain>
  readonly walletClient: WalletClient<Transport, ViemChain, Account>
  readonly testClient: TestClient<"hardhat", Transport, ViemChain>
}

/** Hardhat's in-process provider as a viem transport. */
const inProcessTransport = Effect.tryPromise({
  try: async (): Promise<Transport> => {
    // hardhat.config.cts is TypeScript: let Node's require() load it wherever we run (server, vitest, scripts)
    const { register } = await import("tsx/cjs/api")
    register()
    const { default: hre } = await import("hardhat")
    const provider = hre.network.provider
    return custom({ request: (args: { readonly method: string; readonly params?: ReadonlyArray<unknown> }) => provider.request({ method: args.method, params: args.params ? [...args.params] : [] }) })
  },
  catch: (cause) => new StartupError({ reason: `cannot start the in-process chain: ${String(cause)}` })
})

const makeClients = (transport: Transport) =>
  Effect.tryPromise({
    try: async (): Promise<Clients> => {
      const publicClient = createPublicClient({ chain: hardhatChain, transport, pollingInterval: 5, cacheTime: 0 })
      const [operator] = await createWalletClient({ chain: hardhatChain, transport }).getAddresses()
      if (!operator) throw new Error("the development chain has no accounts")
      const walletClient = createWalletClient({ chain: hardhatChain, transport, account: operator })
      const testClient = createTestClient({ mode: "hardhat", chain: hardhatChain, transport })
      return { transport, publicClient, walletClient, testClient }
    },
    catch: (cause) => new StartupError({ reason: `cannot start the development chain: ${String(cause)}` })
  })

/**
 * The handle on a development chain and the contracts deployed on it: the operations only such a
 * chain allows (minting, impersonating viewers, mining at will), used at start and by tests and scripts.
 */
export class DevChain extends Context.Tag("payg/DevChain")<
  DevChain,
  {
    readonly deployment: Deployment
    /** The chain's transport, for wallet clients of other (impersonated or unlocked) accounts. */
    readonly transport: Transport
    readonly publicClient: PublicClient<Transport, ViemChain>
    /** Sends as the operator (account #0, holding every role). */
    readonly walletClient: WalletClient<Transport, ViemChain, Account>
    /** viem's test actions in Hardhat's dialect: mine, setAutomine, impersonateAccount, setBalance, snapshot, revert... */
    readonly testClient: TestClient<"hardhat", Transport, ViemChain>
    /** Gives `user` principal and yield in the vault and a spending allowance to the wallet. */
    readonly fund: (user: Address, funding: Funding) => Effect.Effect<void>
    /** Lists or updates a content item on chain. */
    readonly list: (contentId: string, listing: { readonly price: bigint; readonly duration: bigint; readonly creator: Address }) => Effect.Effect<void>
    readonly delist: (contentId: string) => Effect.Effect<void>
    readonly earningsOf: (creator: Address) => Effect.Effect<bigint>
  }
>() {}

/**
 * The three contracts, with every role held by the operator (the dev chain's account #0). The wallet
 * requires viewers' authorizations only when asked (tests of the signed flow); the development chain's does not.
 */
const deploy = (c: Clients, requireAuthorization: boolean) =>
  Effect.promise((): Promise<Deployment> => {
    const operator = c.walletClient.account.address
    return deployPaygContracts(c.publicClient, c.walletClient, { operator, contentManager: operator, yieldManager: operator }, { requireAuthorization })
  })

const makeDev = (c: Clients, d: Deployment) => {
  const { publicClient, testClient, transport, walletClient } = c
  const operator = walletClient.account.address
  const wait = (hash: Hex) =>
    publicClient.waitForTransactionReceipt({ hash }).then((r) => {
      if (r.status !== "success") throw new Error(`transaction ${hash} reverted`)
    })
  const fund = (user: Address, f: Funding) =>
    Effect.promise(async () => {
      const total = f.principal + f.yieldAmount
      if (total > 0n) {
        await wait(await walletClient.writeContract({ address: d.usdc, abi: mockUsdcAbi, functionName: "mint", args: [operator, total] }))
        await wait(await walletClient.writeContract({ address: d.usdc, abi: mockUsdcAbi, functionName: "approve", args: [d.vault, total] }))
      }
      if (f.principal > 0n) {
        await wait(await walletClient.writeContract({ address: d.vault, abi: yieldVaultAbi, functionName: "depositFor", args: [user, f.principal] }))
      }
      if (f.yieldAmount > 0n) {
        await wait(await walletClient.writeContract({ address: d.vault, abi: yieldVaultAbi, functionName: "accrueYield", args: [user, f.yieldAmount] }))
      }
      // the viewer's own consent, sent from the viewer's address (impersonated: this is a development chain)
      await testClient.impersonateAccount({ address: user })
      await testClient.setBalance({ address: user, value: 100n * 10n ** 18n })
      const userWallet = createWalletClient({ chain: hardhatChain, transport, account: user })
      await wait(await userWallet.writeContract({ address: d.vault, abi: yieldVaultAbi, functionName: "approveSpender", args: [d.wallet, f.allowance] }))
    }).pipe(Effect.withSpan("DevChain.fund"))
  return DevChain.of({
    deployment: d,
    transport,
    publicClient,
    walletClient,
    testClient,
    fund,
    list: (contentId, l) =>
      Effect.promise(async () => {
        const key = contentKeyOf(contentId)
        const [, , , listed] = await publicClient.readContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [key] })
        // updateContent keeps the listed flag; listContent is what (re-)lists
        const functionName = listed ? "updateContent" : "listContent"
        await wait(await walletClient.writeContract({ address: d.wallet, abi: streamingWalletAbi, functionName, args: [key, l.creator, l.price, l.duration] }))
      }),
    delist: (contentId) =>
      Effect.promise(async () => {
        await wait(
          await walletClient.writeContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "delistContent", args: [contentKeyOf(contentId)] })
        )
      }),
    earningsOf: (creator) =>
      Effect.promise(() => publicClient.readContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "earningsOf", args: [creator] }))
  })
}

/** Lists the demo catalogue and funds the demo viewers (the contracts are deployed already). */
const bootstrap = (dev: Context.Tag.Service<DevChain>) =>
  Effect.gen(function* () {
    for (const item of demoCatalogue) {
      yield* dev.list(item.contentId, { price: item.fullPrice, duration: BigInt(item.totalDuration), creator: toAddress(item.creatorAddress) })
    }
    yield* dev.fund(toAddress(seedViewer), { principal: 200n * USDC, yieldAmount: 50n * USDC, allowance: 1_000n * USDC })
    for (const account of demoAccounts) {
      yield* dev.fund(account, { principal: 500n * USDC, yieldAmount: 25n * USDC, allowance: 10_000n * USDC })
    }
    yield* Effect.logInfo("development chain ready", {
      chainId: 31337,
      usdc: dev.deployment.usdc,
      vault: dev.deployment.vault,
      wallet: dev.deployment.wallet,
      demoViewers: [seedViewer, ...demoAccounts],
      catalogue: demoCatalogue.map((c) => c.contentId)
    })
  })

/**
 * Deploys the contracts on a development chain and provides `DevChain`: on a fresh in-process chain,
 * or on the `hardhat node` at `rpcUrl` (`npm run chain`). `demo` lists the demo catalogue and funds
 * the demo viewers. `requireAuthorization` deploys a wallet that settles only viewer-signed sessions
 * (tests of the production rule; the development chain itself does not require them).
 */
export const DevChainDeployment = (options: { readonly demo: boolean; readonly rpcUrl?: string; readonly requireAuthorization?: boolean }) =>
  Layer.effect(
    DevChain,
    Effect.gen(function* () {
      const transport = options.rpcUrl === undefined ? yield* inProcessTransport : http(options.rpcUrl, { retryCount: 0 })
      const clients = yield* makeClients(transport)
      const deployment = yield* deploy(clients, options.requireAuthorization ?? false)
      const dev = makeDev(clients, deployment)
      if (options.demo) yield* bootstrap(dev)
      return dev
    })
  )

/** The `Chain` port over a `DevChain`'s deployment, sending as its operator. */
export const ChainOnDevChain = Layer.effect(
  Chain,
  Effect.gen(function* () {
    const dev = yield* DevChain
    return yield* makeChain({
      publicClient: dev.publicClient,
      walletClient: dev.walletClient,
      // the development chain's operator also holds CONTENT_MANAGER_ROLE
      contentManager: Option.some(dev.walletClient),
      confirmations: 1,
      timeout: Duration.seconds(30),
      binding: {
        chainId: 31337,
        usdc: toAddress(dev.deployment.usdc),
        vault: toAddress(dev.deployment.vault),
        wallet: toAddress(dev.deployment.wallet),
        fromBlock: dev.deployment.fromBlock,
        kind: "in-process"
      }
    })
  })
)

/** `Chain` and `DevChain` on a fresh in-process chain. */
export const ChainAndDevInProcess = (options: { readonly demo: boolean } = { demo: true }) =>
  ChainOnDevChain.pipe(Layer.provideMerge(DevChainDeployment(options)))
