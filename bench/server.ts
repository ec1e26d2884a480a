/**
 * Bench child: the full app (the same Layers as src/main.ts, with the in-process chain as
 * test/support/app.ts builds it) on a free loopback port, over the PostgreSQL database the bench
 * chose. Before signalling ready it funds BENCH_VIEWERS new viewers through DevChain, so the bench can
 * drive many distinct users. Its CPU time and RSS are read by the parent from /proc.
 *
 * With BENCH_RPC_URL the chain is that node instead (contracts deployed and demo funded there, the
 * app reaching it over HTTP as it would reach Sepolia): the server's memory without the chain's.
 *
 * With BENCH_SLOW_RPC_URL as well (bench/lib/slowChain.ts): the slow-chain profile. The contracts are
 * deployed and the viewers funded straight on the node at BENCH_RPC_URL while it still automines; the
 * node then mines a block every BENCH_BLOCK_MS, and the app is built as `npm start` builds it with
 * RPC_URL (the `ChainRpc` adapter, BENCH_APP_ENV's CONFIRMATIONS) pointed at BENCH_SLOW_RPC_URL, the
 * latency proxy in front of the node. The viewers are funded before the app starts because the
 * funding is sent from the operator's key, whose nonces the app then gives out itself.
 *
 * The one difference from `npm start`: the app's Clock moves one second forward at every
 * millisecond read (like the tests' TimeTravel). A lifecycle driven in a few milliseconds then bills
 * whole seconds and ends in an on-chain settlement; with the wall clock it would bill 0 s and end
 * CANCELLED without a transaction. Sleeps and timeouts stay real. BENCH_REAL_CLOCK=1 keeps the wall
 * clock (the slow-chain profile's lifecycles wait for real, and its chain view ages at the real pace).
 */
import { HttpServer } from "@effect/platform"
import { Clock, ConfigProvider, Context, Effect, Fiber, Layer, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { makeAppLive } from "../src/AppLive.js"
import { ChainOnDevChain, DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { ChainRpc } from "../src/chain/ChainViem.js"
import { seedCatalogue } from "../src/db/seed.js"
import { AppConfig } from "../src/config.js"
import { toAddress } from "../src/domain/Address.js"
import { HttpAppLive, NodeServerLive } from "../src/http/Server.js"
import { LoggingLive } from "../src/platform/Logging.js"
import { TracingLive } from "../src/platform/Tracing.js"
import { countSqlStatements, send, serveIpc } from "./lib/child.js"

const started = performance.now()
countSqlStatements()
const USDC = 1_000_000n

const AppEnv = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.String }))
const appEnv = Schema.decodeUnknownSync(AppEnv)(process.env.BENCH_APP_ENV ?? "{}")
const viewerCount = Number(process.env.BENCH_VIEWERS ?? "64")
/** When set, the chain is this node (a separate `hardhat node`), not in this process. */
const rpcUrl = process.env.BENCH_RPC_URL
/** When set (with BENCH_RPC_URL), the app reaches the chain through this proxy: see the header. */
const slowRpcUrl = process.env.BENCH_SLOW_RPC_URL
const blockMs = Number(process.env.BENCH_BLOCK_MS ?? "2000")
/** Hardhat's public account #0, the development deployment's operator (never a key of value). */
const HARDHAT_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

/**
 * Configuration from the map given (the bench's, plus the slow profile's chain settings), never from
 * the rest of the environment. Fresh: the slow profile builds two, and a shared AppConfig.layer would
 * be built once, from the first map.
 */
const configFrom = (vars: Readonly<Record<string, string>>) =>
  Layer.fresh(AppConfig.layer).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))))

/** Real time plus one second per millisecond read: see the header. */
const SteppingClock = Layer.unwrapEffect(
  Effect.sync(() => {
    const live = Clock.make()
    let offset = 0
    const millis = () => {
      offset += 1000
      return live.unsafeCurrentTimeMillis() + offset
    }
    const nanos = () => live.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: millis,
      currentTimeMillis: Effect.sync(millis),
      unsafeCurrentTimeNanos: nanos,
      currentTimeNanos: Effect.sync(nanos),
      sleep: (d) => live.sleep(d)
    }
    return Layer.setClock(clock)
  })
)

/** The funded viewers and how long funding them took. */
class Viewers extends Context.Tag("bench/Viewers")<Viewers, { readonly addresses: ReadonlyArray<string>; readonly fundMs: number }>() {}

const fundViewers = Effect.gen(function* () {
  const dev = yield* DevChain
  const t0 = performance.now()
  const addresses: Array<string> = []
  for (let i = 0; i < viewerCount; i++) {
    const user = toAddress(`0x${randomBytes(20).toString("hex")}`)
    yield* dev.fund(user, { principal: 1_000_000n * USDC, yieldAmount: 0n, allowance: 1_000_000n * USDC })
    addresses.push(user)
  }
  return { addresses, fundMs: performance.now() - t0 }
})

/** One JSON-RPC call to the node itself (the Hardhat methods that switch it to interval mining). */
const nodeCall = (url: string, method: string, params: ReadonlyArray<unknown>) =>
  Effect.promise(() => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) }))

const Observability = Layer.merge(LoggingLive, TracingLive)
const clockLayer = process.env.BENCH_REAL_CLOCK === "1" ? Layer.empty : SteppingClock

/** The app on a chain built by DevChain (in-process, or the node at BENCH_RPC_URL), as before. */
const DevServerLive = HttpAppLive.pipe(
  Layer.provideMerge(NodeServerLive),
  Layer.provideMerge(makeAppLive(ChainOnDevChain)),
  Layer.provideMerge(Layer.effect(Viewers, fundViewers)),
  Layer.provideMerge(DevChainDeployment(rpcUrl === undefined ? { demo: true } : { demo: true, rpcUrl })),
  Layer.provideMerge(Observability),
  Layer.provideMerge(configFrom(appEnv)),
  Layer.provideMerge(clockLayer)
)

/** The slow-chain profile: see the header. */
const slowServer = (nodeUrl: string, proxyUrl: string) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const dev = yield* DevChain
      const viewers = yield* fundViewers
      yield* nodeCall(nodeUrl, "evm_setAutomine", [false])
      yield* nodeCall(nodeUrl, "evm_setIntervalMining", [blockMs])
      const config = configFrom({
        ...appEnv,
        RPC_URL: proxyUrl,
        PRIVATE_KEY: HARDHAT_KEY_0,
        NETWORK_ID: "31337",
        MOCK_USDC_ADDRESS: dev.deployment.usdc,
        YIELD_VAULT_ADDRESS: dev.deployment.vault,
        STREAMING_WALLET_ADDRESS: dev.deployment.wallet
      })
      return HttpAppLive.pipe(
        Layer.provideMerge(NodeServerLive),
        // the catalogue, as an operator loads it before pointing the server at a database
        Layer.provideMerge(makeAppLive(ChainRpc).pipe(Layer.tap((ctx) => Effect.provide(seedCatalogue(), ctx)))),
        Layer.provideMerge(config),
        Layer.merge(Layer.succeed(Viewers, viewers))
      )
    })
  ).pipe(
    Layer.provideMerge(DevChainDeployment({ demo: true, rpcUrl: nodeUrl })),
    Layer.provideMerge(Observability),
    Layer.provideMerge(configFrom(appEnv)),
    Layer.provideMerge(clockLayer)
  )

const ServerLive = rpcUrl !== undefined && slowRpcUrl !== undefined ? slowServer(rpcUrl, slowRpcUrl) : DevServerLive

const program = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const viewers = yield* Viewers
  const port = server.address._tag === "TcpAddress" ? server.address.port : 0
  send({ type: "ready", port, viewers: [...viewers.addresses], bootMs: performance.now() - started - viewers.fundMs, fundMs: viewers.fundMs })
  return yield* Effect.never
})

const fiber = Effect.runFork(
  Effect.provide(program, ServerLive).pipe(
    Effect.tapErrorCause((cause) => Effect.sync(() => send({ type: "failed", reason: String(cause) })))
  )
)
serveIpc(async () => {
  await Effect.runPromise(Fiber.interrupt(fiber))
})
