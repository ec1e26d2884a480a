import { HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { ChainOnDevChain, DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { makeAppLive } from "../src/AppLive.js"
import { DatabaseLive } from "../src/db/Database.js"
import { seedCatalogue } from "../src/db/seed.js"
import { Chain } from "../src/domain/Chain.js"
import { ContentId } from "../src/domain/Content.js"
import { HttpAppLive } from "../src/http/Server.js"
import { SettlementOutbox } from "../src/session/SettlementOutbox.js"
import { costOf } from "../src/domain/Pricing.js"
import { TestServer, apiClient, configFrom } from "./support/app.js"
import { TimeTravel, TimeTravelLive } from "./support/clock.js"
import { FlakyTestApp, whileChainDown } from "./support/flakyChain.js"
import { HARDHAT_KEY_0, hardhatNode } from "./support/hardhatNode.js"
import { killHard, serverProcess } from "./support/process.js"
import { scratchDatabase } from "./support/database.js"
import { tcpProxy } from "./support/tcpProxy.js"
import { USDC, fundedViewer, settlementsOnChain } from "./support/users.js"
import { postJson } from "./support/http.js"

/**
 * Fault tests (DESIGN.md section 6): each ends with the ledger checked on chain and in the database.
 * Crashes, outages and several instances need a real PostgreSQL server: TEST_DATABASE_URL, or the
 * machine's own at 127.0.0.1:5432.
 */
const PG_ADMIN = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const cid = (id: string) => ContentId.make(id)

const json = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const res = await fetch(url, { ...init, headers: { "content-type": "application/json", ...init?.headers } })
    return { status: res.status, body: (await res.json()) as unknown }
  })

const post = postJson

/** Every COMPLETED session has exactly one on-chain settlement of its final cost; none is left SETTLING. */
const ledgerIsConsistent = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly id: string; readonly status: string; readonly key: string; readonly cost: string | null }>`
    SELECT id, status, settlement_key::text AS key, final_cost::text AS cost FROM sessions`
  for (const r of rows) {
    const events = yield* settlementsOnChain(BigInt(r.key))
    if (r.status === "COMPLETED") {
      expect(events).toHaveLength(1)
      expect(events[0]?.args.amount).toBe(BigInt(r.cost ?? "-1"))
    } else {
      expect(events).toHaveLength(0)
    }
    expect(r.status).not.toBe("SETTLING")
  }
  const orphans = yield* sql`SELECT 1 FROM settlements t LEFT JOIN sessions s ON s.id = t.session_id WHERE s.id IS NULL`
  expect(orphans).toHaveLength(0)
  return rows.length
})

describe("faults", () => {
  it.layer(FlakyTestApp({ RECONCILE_INTERVAL: "24 hours", SETTLEMENT_BATCH_WINDOW: "5 millis" }), { timeout: 180_000 })((it) => {
    it.effect("the chain is unreachable during stop: 202 SETTLING, then the reconciler completes it once, when the chain is back", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const chain = yield* Chain
        const time = yield* TimeTravel
        const outbox = yield* SettlementOutbox
        const user = yield* fundedViewer({ principal: 30n * USDC })
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
        yield* time.advance("18 minutes")
        const stop = yield* whileChainDown(post("/api/session/stop", { sessionId: s.data.sessionId, userAddress: user }))
        expect(stop.status).toBe(202)
        expect(stop.body).toMatchObject({ success: true, data: { status: "settling", payment: null } })
        // still down for the reconciler: it leaves the payment pending
        const early = yield* whileChainDown(outbox.reconcile(0))
        expect(early).toEqual({ confirmed: 0, failed: 0, stillPending: 1, debts: 0 })
        // and while the chain is down, nothing that needs it pretends to work
        const refused = yield* whileChainDown(post("/api/session/start", { userAddress: user, contentId: "yield-farming-101" }))
        expect(refused.status).toBe(503)
        expect(refused.body).toMatchObject({ error: "Service Unavailable", statusCode: 503 })

        const report = yield* outbox.reconcile(0)
        expect(report).toEqual({ confirmed: 1, failed: 0, stillPending: 0, debts: 0 })
        const detail = yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: user } })
        // 18 minutes of clock travel plus the real seconds a loaded machine takes between the requests:
        // the charge is what the billed seconds cost, the same in the 202 as in the completed session
        const finalCost = detail.data.finalCost ?? -1n
        expect(detail.data.status).toBe("COMPLETED")
        expect(detail.data.activeDuration).toBeGreaterThanOrEqual(18 * 60)
        expect(detail.data.activeDuration).toBeLessThan(18 * 60 + 60)
        expect(finalCost).toBe(costOf(10n * USDC, detail.data.activeDuration, 3600))
        expect(stop.body).toMatchObject({ data: { finalCost: String(finalCost) } })
        expect(yield* chain.balancesOf(user)).toEqual({ yieldBalance: 0n, principal: 30n * USDC - finalCost })
        yield* outbox.reconcile(0)
        expect(yield* settlementsOnChain(BigInt(s.data.settlementKey))).toHaveLength(1)
        yield* ledgerIsConsistent
      }))
  })

  describe("the database is unreachable", () => {
    class Db extends Context.Tag("test/DbSwitch")<Db, { readonly cut: Effect.Effect<void>; readonly restore: Effect.Effect<void> }>() {}
    const App = Layer.unwrapScoped(
      Effect.gen(function* () {
        const name = `payg_t_dbdown_${process.pid}_${Date.now()}`
        const admin = new URL(PG_ADMIN)
        yield* scratchDatabase(name)
        const proxy = yield* tcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) })
        const url = new URL(PG_ADMIN)
        url.hostname = "127.0.0.1"
        url.port = String(proxy.port)
        url.pathname = `/${name}`
        const vars = {
          NODE_ENV: "test",
          LOG_LEVEL: "none",
          RATE_LIMIT_MAX_REQUESTS: "0",
          RECONCILE_INTERVAL: "24 hours",
          DATABASE_URL: url.toString()
        }
        return HttpAppLive.pipe(
          Layer.provideMerge(TestServer),
          Layer.provideMerge(makeAppLive(ChainOnDevChain)),
          Layer.provideMerge(DevChainDeployment({ demo: true })),
          Layer.provideMerge(configFrom(vars)),
          Layer.provideMerge(TimeTravelLive),
          Layer.merge(Layer.succeed(Db, { cut: proxy.cut, restore: proxy.restore }))
        )
      })
    )
    layer(App, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect("routes that need it answer 503 in the seed's format, nothing is half-written, and it recovers on its own", () =>
        Effect.gen(function* () {
          const http = yield* HttpClient.HttpClient
          const db = yield* Db
          const chain = yield* Chain
          const user = yield* fundedViewer()
          expect((yield* http.get("/api/content")).status).toBe(200)
          const blockBefore = (yield* chain.status).blockNumber

          yield* db.cut
          const list = yield* http.get("/api/content")
          expect(list.status).toBe(503)
          expect(yield* list.json).toMatchObject({ error: "Service Unavailable", statusCode: 503, message: expect.stringContaining("database") })
          const start = yield* post("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
          expect(start.status).toBe(503)
          expect((yield* http.get("/health")).status).toBe(200)
          expect((yield* chain.status).blockNumber).toBe(blockBefore)

          yield* db.restore
          const back = yield* http.get("/api/content").pipe(
            Effect.flatMap((r) => (r.status === 200 ? Effect.succeed(r.status) : Effect.fail(r.status))),
            Effect.retry(Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo(Duration.seconds(20))))
          )
          expect(back).toBe(200)
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql`SELECT 1 FROM sessions WHERE user_address = ${user}`
          expect(rows).toHaveLength(0)
          const started = yield* post("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
          expect(started.status).toBe(201)
        }))
    })
  })

  describe("with a persistent chain (`hardhat node`) and several processes", () => {
    class Node extends Context.Tag("test/Node")<Node, { readonly url: string; readonly db: string }>() {}
    /** A hardhat node with the contracts and demo data, and a migrated, seeded database of its own. */
    const World = Layer.unwrapScoped(
      Effect.gen(function* () {
        const node = yield* hardhatNode
        const db = yield* scratchDatabase(`payg_t_world_${process.pid}_${Date.now()}`)
        yield* Effect.scoped(
          Layer.build(DatabaseLive.pipe(Layer.provide(configFrom({ DATABASE_URL: db, LOG_LEVEL: "none" })))).pipe(
            Effect.flatMap((ctx) => Effect.provide(seedCatalogue(), ctx))
          )
        )
        return DevChainDeployment({ demo: true, rpcUrl: node.url }).pipe(
          Layer.merge(Layer.succeed(Node, { url: node.url, db })),
          Layer.provideMerge(DatabaseLive.pipe(Layer.provide(configFrom({ DATABASE_URL: db, LOG_LEVEL: "none" }))))
        )
      })
    )
    const serverEnv = (node: { readonly url: string; readonly db: string }, dev: Context.Tag.Service<DevChain>): Record<string, string> => ({
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATABASE_URL: node.db,
      RPC_URL: node.url,
      PRIVATE_KEY: HARDHAT_KEY_0,
      NETWORK_ID: "31337",
      MOCK_USDC_ADDRESS: dev.deployment.usdc,
      YIELD_VAULT_ADDRESS: dev.deployment.vault,
      STREAMING_WALLET_ADDRESS: dev.deployment.wallet,
      RATE_LIMIT_MAX_REQUESTS: "0",
      SETTLEMENT_BATCH: "off",
      RECONCILE_INTERVAL: "1 hour"
    })

    layer(World, { timeout: 240_000, excludeTestServices: true })((it) => {
      it.scoped(
        "the process dies (SIGKILL) after the settlement was sent and before it was recorded: after restart it is recorded, paid once",
        () =>
          Effect.gen(function* () {
            const node = yield* Node
            const dev = yield* DevChain
            const sql = yield* SqlClient.SqlClient
            const user = yield* fundedViewer({ principal: 20n * USDC })
            const env = serverEnv(node, dev)
            const first = yield* serverProcess(env)
            const started = yield* json(`${first.url}/api/session/start`, {
              method: "POST",
              body: JSON.stringify({ userAddress: user, contentId: "intro-to-defi" })
            })
            expect(started.status).toBe(201)
            const { sessionId, settlementKey } = (started.body as { data: { sessionId: string; settlementKey: string } }).data
            yield* Effect.sleep("1200 millis")
            // blocks stop being mined: the settlement will be sent but its receipt never comes
            yield* Effect.promise(() => dev.testClient.setAutomine(false))
            const stop = fetch(`${first.url}/api/session/stop`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ sessionId, userAddress: user })
            }).catch(() => "connection lost")
            const pendingTxs = Effect.promise(() => dev.publicClient.getBlock({ blockTag: "pending" })).pipe(Effect.map((block) => block.transactions.length))
            yield* pendingTxs.pipe(
              Effect.flatMap((n) => (n > 0 ? Effect.void : Effect.fail("not yet"))),
              Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(20))))
            )
            yield* killHard(first)
            yield* Effect.promise(() => stop)
            yield* Effect.promise(() => dev.testClient.setAutomine(true))
            yield* Effect.promise(() => dev.testClient.mine({ blocks: 1 }))
            // the crash left the outbox row pending, and the chain has the payment
            const pending = yield* sql<{ readonly status: string }>`SELECT status FROM settlements WHERE session_id = ${sessionId}`
            expect(pending.map((r) => r.status)).toEqual(["PENDING"])
            expect(yield* settlementsOnChain(BigInt(settlementKey))).toHaveLength(1)

            const second = yield* serverProcess(env)
            const completed = yield* json(`${second.url}/api/session/${sessionId}?userAddress=${user}`).pipe(
              Effect.flatMap((r) => {
                const status = (r.body as { data?: { status?: string } }).data?.status
                return status === "COMPLETED" ? Effect.succeed(r.body) : Effect.fail(status)
              }),
              Effect.retry(Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo(Duration.seconds(30))))
            )
            const events = yield* settlementsOnChain(BigInt(settlementKey))
            expect(events).toHaveLength(1)
            expect(completed).toMatchObject({ data: { payment: { txHash: events[0]?.transactionHash } } })
            yield* killHard(second)
            yield* ledgerIsConsistent
          })
      )

      it.scoped("two server instances on one database stop the same sessions at once: one payment each, no nonce collision", () =>
        Effect.gen(function* () {
          const node = yield* Node
          const dev = yield* DevChain
          const env = { ...serverEnv(node, dev), SETTLEMENT_BATCH: "on", SETTLEMENT_BATCH_WINDOW: "10 millis" }
          const [a, b] = yield* Effect.all([serverProcess(env), serverProcess(env)], { concurrency: 2 })
          const users = yield* Effect.all([fundedViewer(), fundedViewer(), fundedViewer()])
          const contents = ["intro-to-defi", "yield-farming-101", "nft-art-stories"]
          const sessions: Array<{ readonly sessionId: string; readonly user: string; readonly key: string }> = []
          for (const user of users) {
            for (const contentId of contents) {
              const r = yield* json(`${a.url}/api/session/start`, { method: "POST", body: JSON.stringify({ userAddress: user, contentId }) })
              expect(r.status).toBe(201)
              const data = (r.body as { data: { sessionId: string; settlementKey: string } }).data
              sessions.push({ sessionId: data.sessionId, user, key: data.settlementKey })
            }
          }
          yield* Effect.sleep("1200 millis")
          const stops = sessions.flatMap((s) =>
            [a, b].map((server) =>
              json(`${server.url}/api/session/stop`, { method: "POST", body: JSON.stringify({ sessionId: s.sessionId, userAddress: s.user }) })
            )
          )
          const results = yield* Effect.all(stops, { concurrency: "unbounded" })
          const statuses = results.map((r) => r.status)
          expect(statuses.filter((x) => x === 200)).toHaveLength(sessions.length)
          expect(statuses.filter((x) => x === 409)).toHaveLength(sessions.length)
          for (const s of sessions) expect(yield* settlementsOnChain(BigInt(s.key))).toHaveLength(1)
          yield* ledgerIsConsistent
        })
      )
    })
  })
})

