import { Effect, Layer, Option, Redacted } from "effect"
import { createPublicClient, http, webSocket } from "viem"
import { AppConfig } from "./config.js"
import { bindChain } from "./chain/binding.js"
import { checkDeploymentToken } from "./chain/token.js"
import { seedCatalogue } from "./db/seed.js"
import { Chain } from "./domain/Chain.js"
import { StartupError } from "./platform/StartupError.js"

/**
 * A deployment over RPC_URL is checked before anything is bound to it: the vault's token must be
 * MOCK_USDC_ADDRESS and have the decimals the API formats amounts with (src/chain/token.ts).
 * (A WebSocket URL reuses the socket ChainViem opened: viem keeps one per URL.)
 */
const checkToken = Effect.gen(function* () {
  const config = yield* AppConfig
  const chain = yield* Chain
  if (Option.isNone(config.chain.rpcUrl)) return
  const url = Redacted.value(config.chain.rpcUrl.value)
  const publicClient = createPublicClient({ transport: url.startsWith("ws") ? webSocket(url) : http(url, { retryCount: 1 }) })
  const token = yield* Effect.tryPromise({
    try: () => checkDeploymentToken(publicClient, { usdc: chain.binding.usdc, vault: chain.binding.vault }),
    catch: (e) => new StartupError({ reason: e instanceof Error ? e.message.split("\n")[0] ?? e.message : String(e) })
  }).pipe(Effect.timeoutFail({ duration: config.chain.timeout, onTimeout: () => new StartupError({ reason: "the token could not be read in time" }) }))
  yield* Effect.logInfo("token checked", { token: token.address, symbol: token.symbol, decimals: token.decimals })
})

/** Runs once the database and the chain are up, before the server accepts a request. */
export const StartupLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const chain = yield* Chain
    if (chain.binding.kind === "rpc") yield* checkToken
    yield* bindChain
    const config = yield* AppConfig
    // demo data: always with the in-process chain, and on the embedded database (e.g. against `npm run chain`)
    if (chain.binding.kind === "in-process" || Option.isNone(config.database.url)) {
      const added = yield* seedCatalogue()
      if (added > 0) yield* Effect.logInfo("demo catalogue loaded", { items: added })
    }
  })
)
