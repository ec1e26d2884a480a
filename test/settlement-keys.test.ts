/**
 * Settlement keys and payments tried from outside (issue 13, items 2-4), through the real server:
 * strangers and underpaying viewers cannot make a session free, a key already settled is adopted only
 * if it is this session's payment in every field, and a fresh database against a deployment that has
 * already settled keys never reuses one (in-process, and over RPC with restarts of an in-memory database).
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import pg from "pg"
import { DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { streamingWalletAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { toAddress } from "../src/domain/Address.js"
import { Chain, contentKeyOf } from "../src/domain/Chain.js"
import { ContentId } from "../src/domain/Content.js"
import { DatabaseLive } from "../src/db/Database.js"
import { seedCatalogue } from "../src/db/seed.js"
import { TestApp, apiClient, configFrom } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { HARDHAT_KEY_0, hardhatNode } from "./support/hardhatNode.js"
import { postJson } from "./support/http.js"
import { killHard, serverProcess } from "./support/process.js"
import { USDC, fundedViewer, payForSession, settlementsOnChain } from "./support/users.js"

const cid = (id: string) => ContentId.make(id)
const INTRO_CREATOR = toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")
/** 36 minutes of the 3600 s, 10 USDC "intro-to-defi". */
const COST = 6n * USDC

const held = (b: { readonly yieldBalance: bigint; readonly principal: bigint }) => b.yieldBalance + b.principal

describe("settlement keys and payments", () => {
  it.layer(TestApp({ SETTLEMENT_BATCH_WINDOW: "5 millis" }), { timeout: 180_000 })((it) => {
    it.effect("a stranger who pays 1 unit on a viewer's key and the next ones makes no session free: each viewer pays its full cost", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const chain = yield* Chain
        const dev = yield* DevChain
        const time = yield* TimeTravel
        const [alice, bob, stranger] = yield* Effect.all([fundedViewer(), fundedViewer(), fundedViewer()])
        const a = yield* client.session.start({ payload: { userAddress: alice, contentId: cid("intro-to-defi") } })
        const keyA = BigInt(a.data.settlementKey)
        // the stranger reads alice's key from anywhere it leaks and pays it, and the next few, 1 unit each
        for (const k of [keyA, keyA + 1n, keyA + 2n]) yield* payForSession(stranger, k, "intro-to-defi", 1n)
        const b = yield* client.session.start({ payload: { userAddress: bob, contentId: cid("intro-to-defi") } })
        expect(BigInt(b.data.settlementKey)).toBe(keyA + 1n)
        const before = { alice: held(yield* chain.balancesOf(alice)), bob: held(yield* chain.balancesOf(bob)), earned: yield* dev.earningsOf(INTRO_CREATOR) }
        yield* time.advance("36 minutes")

        // the stranger's transaction, offered as alice's proof, proves nothing and changes nothing
        const forged = yield* Effect.promise(() =>
          dev.publicClient.getContractEvents({ address: dev.deployment.wallet, abi: streamingWalletAbi, eventName: "SessionPaid", args: { sessionKey: keyA }, fromBlock: 0n })
        )
        const strangerTx = forged[0]?.transactionHash
        if (strangerTx === undefined) throw new Error("the stranger's payment is not on chain")
        const refused = yield* postJson("/api/session/stop", { sessionId: a.data.sessionId, userAddress: alice, txHash: strangerTx })
        expect(refused.status).toBe(400)
        expect(refused.body).toMatchObject({ message: expect.stringContaining("another address") })
        expect((yield* client.session.get({ path: { sessionId: a.data.sessionId }, urlParams: { userAddress: alice } })).data.status).toBe("ACTIVE")

        const costs: Array<bigint> = []
        for (const [s, user] of [[a, alice], [b, bob]] as const) {
          const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
          expect(stopped.data.status).toBe("completed")
          // 36 minutes, plus the real seconds the test itself took
          expect(stopped.data.finalCost).toBeGreaterThanOrEqual(COST)
          costs.push(stopped.data.finalCost ?? 0n)
        }
        const [costA = 0n, costB = 0n] = costs
        expect(held(yield* chain.balancesOf(alice))).toBe(before.alice - costA)
        expect(held(yield* chain.balancesOf(bob))).toBe(before.bob - costB)
        expect(yield* dev.earningsOf(INTRO_CREATOR)).toBe(before.earned + costA + costB)
        expect(yield* settlementsOnChain(keyA)).toHaveLength(1)
      }))

    it.effect("a viewer who pays 1 unit on their own key and stops is never closed unpaid: 400 with that txHash, the full cost without", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const chain = yield* Chain
        const time = yield* TimeTravel
        const viewer = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: viewer, contentId: cid("intro-to-defi") } })
        const key = BigInt(s.data.settlementKey)
        yield* time.advance("36 minutes")
        const before = held(yield* chain.balancesOf(viewer))
        const underpaid = yield* payForSession(viewer, key, "intro-to-defi", 1n)

        const refused = yield* postJson("/api/session/stop", { sessionId: s.data.sessionId, userAddress: viewer, txHash: underpaid })
        expect(refused.status).toBe(400)
        expect(refused.body).toMatchObject({ error: "Bad Request", message: expect.stringContaining("less than the session's cost") })
        expect((yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: viewer } })).data.status).toBe("ACTIVE")

        const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: viewer } })
        expect(stopped.data.status).toBe("completed")
        expect(stopped.data.finalCost).toBeGreaterThanOrEqual(COST)
        expect(held(yield* chain.balancesOf(viewer))).toBe(before - 1n - (stopped.data.finalCost ?? 0n))
        expect(yield* settlementsOnChain(key)).toHaveLength(1)
      }))

    it.effect("a key already settled on chain for other content is not adopted: the session fails with the reason instead of completing", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const time = yield* TimeTravel
        const viewer = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: viewer, contentId: cid("intro-to-defi") } })
        yield* time.advance("18 minutes")
        // paused, the cost is fixed: about 3 USDC
        const paused = yield* client.session.pause({ payload: { sessionId: s.data.sessionId, userAddress: viewer } })
        const cost = paused.data.currentCost
        // the same key, user and amount, but another content (another creator is paid): not this session's payment
        yield* Effect.promise(async () => {
          const hash = await dev.walletClient.writeContract({
            address: dev.deployment.wallet,
            abi: streamingWalletAbi,
            functionName: "settle",
            args: [BigInt(s.data.settlementKey), viewer, contentKeyOf("yield-farming-101"), cost, 0n, 0n, "0x"]
          })
          await dev.publicClient.waitForTransactionReceipt({ hash })
        })
        const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: viewer } })
        expect(stopped.data).toMatchObject({ status: "failed", finalCost: cost, payment: null, failureReason: expect.stringContaining("other content") })
      }))
  })

  describe("a fresh database against a deployment that already settled keys (`hardhat node`)", () => {
    const PG_ADMIN = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
    class NodeUrl extends Context.Tag("test/NodeUrl")<NodeUrl, string>() {}
    const World = Layer.unwrapScoped(Effect.map(hardhatNode, (node) => DevChainDeployment({ demo: true, rpcUrl: node.url }).pipe(Layer.merge(Layer.succeed(NodeUrl, node.url)))))

    const scratchDatabase = Effect.gen(function* () {
      const name = `payg_t_keys_${process.pid}_${Date.now()}`
      const run = (statement: string) =>
        Effect.promise(async () => {
          const c = new pg.Client({ connectionString: PG_ADMIN })
          await c.connect()
          await c.query(statement).finally(() => c.end())
        })
      yield* Effect.acquireRelease(run(`CREATE DATABASE ${name}`), () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore))
      const url = Object.assign(new URL(PG_ADMIN), { pathname: `/${name}` }).toString()
      // migrated and the catalogue loaded, as an operator would before pointing the server at it
      yield* Effect.scoped(
        Layer.build(DatabaseLive.pipe(Layer.provide(configFrom({ DATABASE_URL: url, LOG_LEVEL: "none" })))).pipe(
          Effect.flatMap((ctx) => Effect.provide(seedCatalogue(), ctx))
        )
      )
      return url
    })

    const json = (url: string, body?: unknown) =>
      Effect.promise(async () => {
        const res = await fetch(url, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
        return { status: res.status, body: (await res.json()) as { data?: { sessionId?: string; settlementKey?: string; status?: string; finalCost?: string } } }
      })

    /** Two sessions of `user` on one server: started, watched a little over a second, stopped; their keys and costs. */
    const twoPaidSessions = (url: string, user: string) =>
      Effect.gen(function* () {
        const started = yield* Effect.forEach(["intro-to-defi", "yield-farming-101"], (contentId) => json(`${url}/api/session/start`, { userAddress: user, contentId }))
        yield* Effect.sleep("1200 millis")
        const out: Array<{ readonly key: bigint; readonly cost: bigint }> = []
        for (const s of started) {
          expect(s.status).toBe(201)
          const stop = yield* json(`${url}/api/session/stop`, { sessionId: s.body.data?.sessionId, userAddress: user })
          expect(stop.body.data?.status).toBe("completed")
          out.push({ key: BigInt(s.body.data?.settlementKey ?? "-1"), cost: BigInt(stop.body.data?.finalCost ?? "-1") })
        }
        return out
      })

    layer(World, { timeout: 240_000, excludeTestServices: true })((it) => {
      it.scoped(
        "in-memory database restarted against RPC, then a fresh PostgreSQL database: every key is new, every session is paid",
        () =>
        Effect.gen(function* () {
          const dev = yield* DevChain
          const rpcUrl = yield* NodeUrl
          const user = toAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8") // a demo viewer, funded by the deployment
          const balance = Effect.promise(() =>
            dev.publicClient.readContract({ address: dev.deployment.vault, abi: yieldVaultAbi, functionName: "balancesOf", args: [user] })
          ).pipe(Effect.map(([y, p]) => y + p))
          const before = yield* balance
          const env: Record<string, string> = {
            NODE_ENV: "test",
            LOG_LEVEL: "warn",
            RPC_URL: rpcUrl,
            PRIVATE_KEY: HARDHAT_KEY_0,
            NETWORK_ID: "31337",
            MOCK_USDC_ADDRESS: dev.deployment.usdc,
            YIELD_VAULT_ADDRESS: dev.deployment.vault,
            STREAMING_WALLET_ADDRESS: dev.deployment.wallet,
            RATE_LIMIT_MAX_REQUESTS: "0",
            SETTLEMENT_BATCH: "off"
          }
          const runs: Array<ReadonlyArray<{ readonly key: bigint; readonly cost: bigint }>> = []
          // no DATABASE_URL: the embedded in-memory database, new at each start
          for (const extra of [{}, {}, { DATABASE_URL: yield* scratchDatabase }]) {
            const server = yield* serverProcess({ ...env, ...extra })
            runs.push(yield* twoPaidSessions(server.url, user))
            yield* killHard(server)
          }
          const all = runs.flat()
          expect(new Set(all.map((s) => s.key)).size).toBe(all.length)
          // every session was charged: none adopted an earlier database's payment
          expect(yield* balance).toBe(before - all.reduce((sum, s) => sum + s.cost, 0n))
          for (const run of runs) {
            const [first, second] = run
            // one process's consecutive keys share a bitmap word
            expect(second?.key).toBe((first?.key ?? 0n) + 1n)
            expect((second?.key ?? 0n) >> 8n).toBe((first?.key ?? 0n) >> 8n)
          }
          // each key settled once on chain, by the operator, for this user and this session's cost
          for (const s of all) {
            const events = yield* settlementsOnChain(s.key).pipe(
              Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(5))))
            )
            expect(events.map((e) => ({ user: toAddress(e.args.user ?? "0x"), amount: e.args.amount }))).toEqual([{ user, amount: s.cost }])
          }
        }),
        // three server starts (tsx) on a shared machine
        240_000
      )
    })
  })
})
