/**
 * Bench child: the full app (the same Layers as src/main.ts, with the in-process chain as
 * test/support/app.ts builds it) on a free loopback port, over the PostgreSQL database the bench
 * chose. Before signalling ready it funds BENCH_VIEWERS new viewers through DevChain, so the bench can
 * drive many distinct users. Its CPU time and RSS are read by the parent from /proc.
 *
 * With BENCH_RPC_URL the chain is that node instead (contracts deployed and demo funded there, the
 * app reaching it over HTTP as it would reach Sepolia): the server's memory without the chain's.
 *
 * The one difference from `npm start`: the app's Clock moves one second forward at every
 * millisecond read (like the tests' TimeTravel). A lifecycle driven in a few milliseconds then bills
 * whole seconds and ends in an on-chain settlement; with the wall clock it would bill 0 s and end
 * CANCELLED without a transaction. Sleeps and timeouts stay real.
 */
import { HttpServer } from "@effect/platform"
import { Clock, ConfigProvider, Effect, Fiber, Layer, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { makeAppLive } from "../src/AppLive.js"
import { ChainOnDevChain, DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
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

/** Configuration from the map the bench passed, never from the rest of the environment. */
const ConfigLive = AppConfig.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(appEnv))))))

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

const ServerLive = HttpAppLive.pipe(
  Layer.provideMerge(NodeServerLive),
  Layer.provideMerge(makeAppLive(ChainOnDevChain)),
  Layer.provideMerge(DevChainDeployment(rpcUrl === undefined ? { demo: true } : { demo: true, rpcUrl })),
  Layer.provideMerge(Layer.merge(LoggingLive, TracingLive)),
  Layer.provideMerge(ConfigLive),
  Layer.provideMerge(SteppingClock)
)

const program = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const dev = yield* DevChain
  const booted = performance.now()
  const viewers: Array<string> = []
  for (let i = 0; i < viewerCount; i++) {
    const user = toAddress(`0x${randomBytes(20).toString("hex")}`)
    yield* dev.fund(user, { principal: 1_000_000n * USDC, yieldAmount: 0n, allowance: 1_000_000n * USDC })
    viewers.push(user)
  }
  const port = server.address._tag === "TcpAddress" ? server.address.port : 0
  send({ type: "ready", port, viewers, bootMs: booted - started, fundMs: performance.now() - booted })
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
