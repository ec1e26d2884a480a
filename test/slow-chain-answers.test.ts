import { describe, expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { createWalletClient } from "viem"
import { HttpServer } from "@effect/platform"
import { makeAppLive } from "../src/AppLive.js"
import { DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { ChainRpc } from "../src/chain/ChainViem.js"
import { seedCatalogue } from "../src/db/seed.js"
import { HttpAppLive, nodeServerOn } from "../src/http/Server.js"
import { yieldVaultAbi } from "../src/chain/contracts.js"
import { countingRpc } from "./support/countingRpc.js"
import { HARDHAT_KEY_0, hardhatNodeWith } from "./support/hardhatNode.js"
import { testConfig } from "./support/app.js"
import { USDC, fundedViewer } from "./support/users.js"

/**
 * Issue 15, the answering side, on a `hardhat node` that mines a block every 2 s (transactions are
 * still mined as they come: the second of CONFIRMATIONS=2 waits for the next interval block), with the
 * app reaching the node through a proxy that writes down every JSON-RPC method:
 * - a stop answers 202 `settling` without waiting for a block, and GET later shows the payment;
 * - `Prefer: wait=10` waits for it: 200 `completed`, `Preference-Applied: wait=10`;
 * - start, balance, content and /api/status read the chain view: no eth_call while it is fresh;
 * - a deposit and a withdrawal on chain are in the balance within two blocks.
 */


class World extends Context.Tag("test/SlowWorld")<
  World,
  { readonly url: string; readonly rpc: Effect.Effect.Success<ReturnType<typeof countingRpc>> }
>() {}

/**
 * The node, the proxy, the contracts and demo data (DevChain), and the app itself served on a local
 * port (in this process: a child server's start-up is slow on a loaded machine) over ChainRpc, as
 * `npm start` with RPC_URL runs it.
 */
const WorldLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const node = yield* hardhatNodeWith({ HARDHAT_BLOCK_TIME: "2000" })
    const rpc = yield* countingRpc(node.url)
    const deployment = DevChainDeployment({ demo: true, rpcUrl: node.url })
    const app = Layer.unwrapEffect(
      Effect.map(DevChain, (dev) => {
        const served = HttpAppLive.pipe(
          Layer.provideMerge(nodeServerOn({ port: 0, host: "127.0.0.1" })),
          Layer.provideMerge(makeAppLive(ChainRpc)),
          Layer.provideMerge(
            testConfig({
              RPC_URL: rpc.url,
              PRIVATE_KEY: HARDHAT_KEY_0,
              NETWORK_ID: "31337",
              CONFIRMATIONS: "2",
              MOCK_USDC_ADDRESS: dev.deployment.usdc,
              YIELD_VAULT_ADDRESS: dev.deployment.vault,
              STREAMING_WALLET_ADDRESS: dev.deployment.wallet
            })
          )
        )
        const world = Layer.effect(
          World,
          Effect.gen(function* () {
            // the catalogue, as an operator loads it before pointing the server at a database (PGlite gets the demo one)
            yield* seedCatalogue()
            const server = yield* HttpServer.HttpServer
            return { url: server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : "", rpc }
          })
        )
        return world.pipe(Layer.provide(served))
      })
    )
    return Layer.provideMerge(app, deployment)
  })
)

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: unknown
}

const call = (url: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async (): Promise<Answer> => {
    const res = await fetch(url, body === undefined ? { headers } : { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })
    return { status: res.status, headers: res.headers, body: await res.json() }
  })

const field = (value: unknown, ...keys: ReadonlyArray<string>): unknown =>
  keys.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? Reflect.get(v, k) : undefined), value)

/** Retries `check` every 250 ms until it holds (generous: a loaded machine). */
const eventually = <A>(effect: Effect.Effect<A>, holds: (a: A) => boolean, within: Duration.DurationInput = "60 seconds") =>
  effect.pipe(
    Effect.filterOrFail(holds, () => "not yet"),
    Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo(within))),
    Effect.orDie
  )

/** The view's head, as /api/status reports it. */
const headOf = (url: string) => Effect.map(call(`${url}/api/status`), (a) => Number(field(a.body, "network", "blockNumber")))

/** A session of `user` started and watched a little over a second. */
const watched = (url: string, user: string, contentId: string) =>
  Effect.gen(function* () {
    const started = yield* call(`${url}/api/session/start`, { userAddress: user, contentId })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    yield* Effect.sleep("1100 millis")
    return String(field(started.body, "data", "sessionId"))
  })

describe("answering on a chain with 2 s blocks and CONFIRMATIONS=2", () => {
  layer(WorldLive, { timeout: 240_000, excludeTestServices: true })((it) => {
    it.effect("a stop answers 202 settling at once; GET shows the payment later; Prefer: wait=10 gets 200 completed", () =>
      Effect.gen(function* () {
        const { url } = yield* World
        const user = yield* fundedViewer({ principal: 50n * USDC })
        // the view has seen blocks come at the node's pace (three timer blocks after the funding's burst): the default wait is the short one
        const dev = yield* DevChain
        const funded = Number(yield* Effect.promise(() => dev.publicClient.getBlockNumber({ cacheTime: 0 })))
        yield* eventually(headOf(url), (h) => h >= funded + 3)

        const sessionId = yield* watched(url, user, "intro-to-defi")
        const stop = yield* call(`${url}/api/session/stop`, { sessionId, userAddress: user })
        expect(stop.status, JSON.stringify(stop.body)).toBe(202)
        expect(field(stop.body, "data", "status")).toBe("settling")
        expect(field(stop.body, "data", "payment")).toBeNull()
        expect(String(field(stop.body, "data", "txHash"))).toMatch(/^(null|0x[0-9a-f]{64})$/)
        expect(stop.headers.get("preference-applied")).toBeNull()

        const done = yield* eventually(call(`${url}/api/session/${sessionId}?userAddress=${user}`), (a) => field(a.body, "data", "status") === "COMPLETED")
        expect(field(done.body, "data", "payment")).toMatchObject({
          txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
          blockNumber: expect.any(Number),
          gasUsed: expect.stringMatching(/^[1-9][0-9]*$/),
          batchSize: 1
        })

        const patient = yield* watched(url, user, "yield-farming-101")
        const waited = yield* call(`${url}/api/session/stop`, { sessionId: patient, userAddress: user }, { prefer: "wait=10" })
        expect(waited.status, JSON.stringify(waited.body)).toBe(200)
        expect(field(waited.body, "data", "status")).toBe("completed")
        expect(field(waited.body, "data", "payment", "txHash")).toMatch(/^0x[0-9a-f]{64}$/)
        expect(waited.headers.get("preference-applied")).toBe("wait=10")
      }))

    it.effect("start, balance, content and status make no chain read while the view is fresh; a deposit and a withdrawal show within two blocks", () =>
      Effect.gen(function* () {
        const { rpc, url } = yield* World
        const dev = yield* DevChain
        const user = yield* fundedViewer({ principal: 40n * USDC })
        const balanceOf = Effect.map(call(`${url}/api/user/${user}/balance`), (a) => String(field(a.body, "data", "totalBalance")))
        // first reads fill the view: the viewer's balance and allowance (a start), the listings
        expect(yield* balanceOf).toBe(String(40n * USDC))
        expect((yield* call(`${url}/api/session/start`, { userAddress: user, contentId: "yield-farming-101" })).status).toBe(201)
        expect((yield* call(`${url}/api/content/intro-to-defi`)).status).toBe(200)
        // the view has applied the funding's blocks (and read again what they changed) before the count starts
        const funded = Number(yield* Effect.promise(() => dev.publicClient.getBlockNumber({ cacheTime: 0 })))
        yield* eventually(headOf(url), (h) => h > funded)

        const mark = rpc.mark()
        const started = yield* call(`${url}/api/session/start`, { userAddress: user, contentId: "intro-to-defi" })
        expect(started.status, JSON.stringify(started.body)).toBe(201)
        expect(yield* balanceOf).toBe(String(40n * USDC))
        expect(field((yield* call(`${url}/api/content/intro-to-defi`)).body, "data", "blockchain", "isListed")).toBe(true)
        expect((yield* call(`${url}/api/status`)).status).toBe(200)
        // the poller's own requests (the head, the new blocks' logs) go on; nothing else does
        expect(rpc.since(mark).filter((m) => m !== "eth_blockNumber" && m !== "eth_getLogs")).toEqual([])

        // a deposit on chain (the operator deposits for the viewer)
        yield* dev.fund(user, { principal: 5n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
        const deposited = yield* Effect.promise(() => dev.publicClient.getBlockNumber({ cacheTime: 0 }))
        yield* eventually(Effect.promise(() => dev.publicClient.getBlockNumber({ cacheTime: 0 })), (h) => h >= deposited + 2n)
        expect(yield* balanceOf).toBe(String(45n * USDC))

        // a withdrawal by the viewer
        const viewer = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: user })
        yield* Effect.promise(async () => {
          const hash = await viewer.writeContract({ address: dev.deployment.vault, abi: yieldVaultAbi, functionName: "withdraw", args: [7n * USDC] })
          await dev.publicClient.waitForTransactionReceipt({ hash })
        })
        const withdrawn = yield* Effect.promise(() => dev.publicClient.getBlockNumber({ cacheTime: 0 }))
        yield* eventually(Effect.promise(() => dev.publicClient.getBlockNumber({ cacheTime: 0 })), (h) => h >= withdrawn + 2n)
        expect(yield* balanceOf).toBe(String(38n * USDC))
      }))
  })
})
