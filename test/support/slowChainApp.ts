import { Context, Effect, Layer, type Scope } from "effect"
import { makeAppLive } from "../../src/AppLive.js"
import { DevChain, DevChainDeployment } from "../../src/chain/ChainInProcess.js"
import { ChainRpc } from "../../src/chain/ChainViem.js"
import { seedCatalogue } from "../../src/db/seed.js"
import type { Address } from "../../src/domain/Address.js"
import { HttpAppLive } from "../../src/http/Server.js"
import { TestServer, testConfig } from "./app.js"
import { TimeTravelLive } from "./clock.js"
import { countingRpc } from "./countingRpc.js"
import { HARDHAT_KEY_0 } from "./hardhatNode.js"
import { slowChain } from "./slowChain.js"
import { USDC, randomAddress } from "./users.js"

type Slow = Effect.Effect.Success<ReturnType<typeof slowChain>>
type Counting = Effect.Effect.Success<ReturnType<typeof countingRpc>>

/** The node, the counting proxy the app talks through, and the viewers funded before blocks slowed down. */
export class SlowWorld extends Context.Tag("test/SlowWorld")<
  SlowWorld,
  { readonly chain: Slow; readonly rpc: Counting; readonly viewers: ReadonlyArray<Address> }
>() {}

/**
 * The app served over a `hardhat node` mining a block every `blockTimeMs` behind a proxy adding
 * `latencyMs` per request, with a counting proxy in front (what the app asks the chain, by method):
 * the demo catalogue deployed and `viewers` funded with `principal` each while the node still
 * automines, then blocks at the chain's pace. `env` adds to (or overrides) the chain's variables.
 */
export const slowChainApp = (options: {
  readonly blockTimeMs: number
  readonly latencyMs: number
  readonly viewers: number
  readonly principal: bigint
  readonly env: Effect.Effect<Record<string, string>, never, Scope.Scope>
}) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const chain = yield* slowChain({ blockTimeMs: options.blockTimeMs, latencyMs: options.latencyMs })
      const rpc = yield* countingRpc(chain.url)
      const dev = yield* Layer.build(DevChainDeployment({ demo: true, rpcUrl: chain.nodeUrl }))
      const d = Context.get(dev, DevChain)
      const viewers = Array.from({ length: options.viewers }, () => randomAddress())
      for (const v of viewers) yield* d.fund(v, { principal: options.principal, yieldAmount: 0n, allowance: 1_000n * USDC })
      yield* chain.slowDown()
      const vars = {
        RPC_URL: rpc.url,
        PRIVATE_KEY: HARDHAT_KEY_0,
        NETWORK_ID: "31337",
        MOCK_USDC_ADDRESS: d.deployment.usdc,
        YIELD_VAULT_ADDRESS: d.deployment.vault,
        STREAMING_WALLET_ADDRESS: d.deployment.wallet,
        ...(yield* options.env)
      }
      return HttpAppLive.pipe(
        Layer.provideMerge(TestServer),
        // the catalogue as on the development chain (a PostgreSQL database is not seeded at start)
        Layer.provideMerge(makeAppLive(ChainRpc).pipe(Layer.tap((ctx) => Effect.provide(seedCatalogue(), ctx)))),
        Layer.provideMerge(testConfig(vars)),
        Layer.provideMerge(TimeTravelLive),
        Layer.provideMerge(Layer.succeedContext(dev)),
        Layer.merge(Layer.succeed(SlowWorld, { chain, rpc, viewers }))
      )
    })
  )
