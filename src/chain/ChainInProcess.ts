import { Context, Duration, Effect, Layer } from "effect"
import {
  type Account,
  type Chain as ViemChain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain
} from "viem"
import { type Address, toAddress } from "../domain/Address.js"
import { Chain, contentKeyOf } from "../domain/Chain.js"
import { demoCatalogue, seedViewer } from "../content/catalogue.js"
import { StartupError } from "../platform/StartupError.js"
import { mockUsdcAbi, streamingWalletAbi, yieldVaultAbi } from "./contracts.js"
import { makeChain } from "./ChainViem.js"
import { deployPaygContracts } from "./deploy.js"

/**
 * Hardhat's in-process EDR chain, used when RPC_URL is unset: new at every start, with the contracts
 * deployed, the demo catalogue listed and the demo viewers funded, so the seed's curl examples work.
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
  readonly publicClient: PublicClient<Transport, ViemChain>
  readonly walletClient: WalletClient<Transport, ViemChain, Account>
  readonly provider: DevProvider
}

/** What viem's custom() transport and the hardhat_* development methods need of a provider. */
export interface DevProvider {
  readonly request: (args: { readonly method: string; readonly params?: ReadonlyArray<unknown> }) => Promise<unknown>
}

const loadProvider = Effect.tryPromise({
  try: async (): Promise<DevProvider> => {
    // hardhat.config.cts is TypeScript: let Node's require() load it wherever we run (server, vitest, scripts)
    const { register } = await import("tsx/cjs/api")
    register()
    const { default: hre } = await import("hardhat")
    const provider = hre.network.provider
    return { request: (args) => provider.request({ method: args.method, params: args.params ? [...args.params] : [] }) }
  },
  catch: (cause) => new StartupError({ reason: `cannot start the in-process chain: ${String(cause)}` })
})

const makeClients = (provider: DevProvider) =>
  Effect.tryPromise({
    try: async (): Promise<Clients> => {
      const transport = custom(provider)
      const publicClient = createPublicClient({ chain: hardhatChain, transport, pollingInterval: 5, cacheTime: 0 })
      const [operator] = await createWalletClient({ chain: hardhatChain, transport }).getAddresses()
      if (!operator) throw new Error("the in-process chain has no accounts")
      const walletClient = createWalletClient({ chain: hardhatChain, transport, account: operator })
      return { publicClient, walletClient, provider }
    },
    catch: (cause) => new StartupError({ reason: `cannot start the in-process chain: ${String(cause)}` })
  })

/** Operations only a development chain allows: used at start and by the tests. */
export class ChainDev extends Context.Tag("payg/ChainDev")<
  ChainDev,
  {
    readonly deployment: Deployment
    readonly publicClient: PublicClient<Transport, ViemChain>
    readonly walletClient: WalletClient<Transport, ViemChain, Account>
    readonly provider: DevProvider
    /** Gives `user` principal and yield in the vault and a spending allowance to the wallet. */
    readonly fund: (user: Address, funding: Funding) => Effect.Effect<void>
    /** Lists or updates a content item on chain. */
    readonly list: (contentId: string, listing: { readonly price: bigint; readonly duration: bigint; readonly creator: Address }) => Effect.Effect<void>
    readonly delist: (contentId: string) => Effect.Effect<void>
    readonly usdcBalanceOf: (account: Address) => Effect.Effect<bigint>
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
  const { provider, publicClient, walletClient } = c
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
      await provider.request({ method: "hardhat_impersonateAccount", params: [user] })
      await provider.request({ method: "hardhat_setBalance", params: [user, "0x56BC75E2D63100000"] })
      const userWallet = createWalletClient({ chain: hardhatChain, transport: custom(provider), account: user })
      await wait(await userWallet.writeContract({ address: d.vault, abi: yieldVaultAbi, functionName: "approveSpender", args: [d.wallet, f.allowance] }))
    }).pipe(Effect.withSpan("ChainDev.fund"))
  return ChainDev.of({
    deployment: d,
    publicClient,
    walletClient,
    provider,
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
    usdcBalanceOf: (account) =>
      Effect.promise(() => publicClient.readContract({ address: d.usdc, abi: mockUsdcAbi, functionName: "balanceOf", args: [account] })),
    earningsOf: (creator) =>
      Effect.promise(() => publicClient.readContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "earningsOf", args: [creator] }))
  })
}

/** Deploys, lists the demo catalogue and funds the demo viewers. */
const bootstrap = (dev: Context.Tag.Service<ChainDev>) =>
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

/** The dev handle alone (deployed, not yet funded). */
/** A development node over HTTP (`npm run chain`): the same dev operations through its JSON-RPC. */
const httpProvider = (url: string): DevProvider => {
  let id = 0
  return {
    request: async ({ method, params }) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] })
      })
      const body: unknown = await response.json()
      if (typeof body !== "object" || body === null) throw new Error(`${method}: malformed JSON-RPC answer`)
      if ("error" in body && typeof body.error === "object" && body.error !== null) {
        const e = body.error
        const message = "message" in e && typeof e.message === "string" ? e.message : `${method} failed`
        throw Object.assign(new Error(message), { code: "code" in e ? e.code : -32603, data: "data" in e ? e.data : undefined })
      }
      return "result" in body ? body.result : undefined
    }
  }
}

export const ChainDevLive = (options: { readonly demo: boolean; readonly rpcUrl?: string; readonly requireAuthorization?: boolean }) =>
  Layer.effect(
    ChainDev,
    Effect.gen(function* () {
      const provider = options.rpcUrl === undefined ? yield* loadProvider : httpProvider(options.rpcUrl)
      const clients = yield* makeClients(provider)
      const deployment = yield* deploy(clients, options.requireAuthorization ?? false)
      const dev = makeDev(clients, deployment)
      if (options.demo) yield* bootstrap(dev)
      return dev
    })
  )

/** The Chain port on top of an in-process deployment. */
export const ChainFromDev = Layer.effect(
  Chain,
  Effect.gen(function* () {
    const dev = yield* ChainDev
    return yield* makeChain({
      publicClient: dev.publicClient,
      walletClient: dev.walletClient,
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

/** Chain + ChainDev on a fresh in-process chain. */
export const ChainInProcess = (options: { readonly demo: boolean } = { demo: true }) =>
  ChainFromDev.pipe(Layer.provideMerge(ChainDevLive(options)))
