import { Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { createPublicClient, http, webSocket } from "viem"
import { AppConfig } from "../config.js"
import { Chain } from "../domain/Chain.js"
import { StartupError } from "../platform/StartupError.js"
import { ChainOnDevChain, DevChainDeployment } from "./ChainInProcess.js"
import { ChainRpc, rpcUrlsOf } from "./ChainViem.js"
import { checkDeploymentToken } from "./token.js"

/**
 * A deployment over RPC_URL is checked before it is used: the vault's token must be MOCK_USDC_ADDRESS and
 * have the decimals the API formats amounts with (src/chain/token.ts). It runs alongside the database's
 * start, so a wrong deployment is refused at once. (A WebSocket URL reuses the socket ChainRpc opened:
 * viem keeps one per URL.)
 */
const checkToken = (ctx: Context.Context<Chain>) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (Option.isNone(config.chain.rpcUrl)) return
    const { binding } = Context.get(ctx, Chain)
    const url = rpcUrlsOf(Redacted.value(config.chain.rpcUrl.value))[0] ?? ""
    const publicClient = createPublicClient({ transport: url.startsWith("ws") ? webSocket(url) : http(url, { retryCount: 1 }) })
    const token = yield* Effect.tryPromise({
      try: () => checkDeploymentToken(publicClient, { usdc: binding.usdc, vault: binding.vault }),
      catch: (e) => new StartupError({ reason: e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e) })
    }).pipe(
      Effect.timeoutFail({ duration: Duration.max(config.chain.timeout, Duration.seconds(10)), onTimeout: () => new StartupError({ reason: "the token could not be read in time" }) })
    )
    yield* Effect.logInfo("token checked", { token: token.address, symbol: token.symbol, decimals: token.decimals })
  })

/**
 * The `Chain` the server runs on, chosen by the configuration: RPC_URL set, the deployment it names
 * (`ChainRpc`), its token checked; unset, a fresh in-process chain with the demo data (`ChainOnDevChain`
 * over `DevChainDeployment`, whose `DevChain` handle stays inside).
 */
export const ChainFromConfig = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Option.isSome(config.chain.rpcUrl) ? ChainRpc.pipe(Layer.tap(checkToken)) : ChainOnDevChain.pipe(Layer.provide(DevChainDeployment({ demo: true })))
  )
)
