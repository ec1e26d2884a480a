import { HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createWalletClient } from "viem"
import { streamingWalletAbi } from "../src/chain/contracts.js"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { contentKeyOf, Chain } from "../src/domain/Chain.js"
import { SettlementOutbox } from "../src/session/SettlementOutbox.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { USDC, fundedViewer, randomAddress, settlementsOnChain } from "./support/users.js"
import { toAddress } from "../src/domain/Address.js"
import { ContentId } from "../src/domain/Content.js"
import { SessionId } from "../src/domain/Session.js"
import { postJson } from "./support/http.js"

const cid = (id: string) => ContentId.make(id)

const post = postJson

const statusOf = (path: string, body: unknown) => Effect.map(post(path, body), (r) => r.status)

describe("sessions", () => {
  it.layer(TestApp({ SETTLEMENT_BATCH_WINDOW: "5 millis" }), { timeout: 180_000 })((it) => {
    it.effect("a full lifecycle bills only active seconds, yield first, and pays the creator on chain", () =>
      Effect.flatMap(TimeTravel, (time) => time.frozen(Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const chain = yield* Chain
        const user = yield* fundedViewer({ principal: 100n * USDC, yieldAmount: 3n * USDC })
        const creator = toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")
        const earningsBefore = yield* dev.earningsOf(creator)

        const started = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
        expect(started.data).toMatchObject({
          status: "active",
          estimatedCost: 10_000_000n,
          content: { id: "intro-to-defi", title: "Introduction to DeFi", fullPrice: 10_000_000n, totalDuration: 3600 }
        })
        expect(started.data.sessionId).toMatch(/^session_[0-9a-z]+_[0-9a-f]{8}$/)
        const sessionId = started.data.sessionId

        yield* time.advance("30 minutes")
        const paused = yield* client.session.pause({ payload: { sessionId, userAddress: user } })
        expect(paused.data).toMatchObject({ status: "paused", activeDuration: 1800, currentCost: 5_000_000n })

        yield* time.advance("10 minutes")
        const resumed = yield* client.session.resume({ payload: { sessionId, userAddress: user } })
        expect(resumed.data).toMatchObject({ status: "active", totalPausedDuration: 600 })

        yield* time.advance("15 minutes")
        const stopped = yield* client.session.stop({ payload: { sessionId, userAddress: user } })
        expect(stopped.data).toMatchObject({ status: "completed", totalDuration: 3300, activeDuration: 2700, finalCost: 7_500_000n })
        expect(stopped.data.payment).toMatchObject({ fromYield: 3_000_000n, fromPrincipal: 4_500_000n })
        expect(stopped.data.payment?.txHash).toMatch(/^0x[0-9a-f]{64}$/)

        const balances = yield* chain.balancesOf(user)
        expect(balances).toEqual({ yieldBalance: 0n, principal: 95_500_000n })
        expect((yield* dev.earningsOf(creator)) - earningsBefore).toBe(7_500_000n)

        const detail = yield* client.session.get({ path: { sessionId }, urlParams: { userAddress: user } })
        expect(detail.data).toMatchObject({
          status: "COMPLETED",
          activeDuration: 2700,
          pausedDuration: 600,
          totalDuration: 3300,
          currentCost: 7_500_000n,
          finalCost: 7_500_000n
        })
        const events = yield* settlementsOnChain(BigInt(detail.data.settlementKey))
        expect(events).toHaveLength(1)
        expect(events[0]?.args.amount).toBe(7_500_000n)
      }))))

    it.effect("/metrics counts sessions started and stopped, settlements sent and confirmed, and chain calls", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const http = yield* HttpClient.HttpClient
        const time = yield* TimeTravel
        const scrape = Effect.flatMap(http.get("/metrics"), (r) => r.text)
        const value = (text: string, name: string) => {
          const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
          return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1))
        }
        const before = yield* scrape
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } })
        yield* time.advance("10 minutes")
        yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
        const after = yield* scrape
        for (const name of ["payg_sessions_started_total", "payg_sessions_stopped_total", "payg_settlements_sent_total", "payg_settlements_confirmed_total"]) {
          expect(value(after, name) - value(before, name)).toBeGreaterThanOrEqual(1)
        }
        expect(after).toMatch(/payg_chain_call_duration_seconds_count\{[^}]*call="(settle(Batch)?|broadcast)"[^}]*\} [1-9]/)
      }))

    it.effect("a session stopped before a billable second is CANCELLED with no transaction", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } })
        const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
        expect(stopped.data).toMatchObject({ status: "cancelled", finalCost: 0n, payment: null })
        expect(yield* settlementsOnChain(BigInt(s.data.settlementKey))).toHaveLength(0)
      }))

    it.effect("the cost never exceeds the full price", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("nft-art-stories") } })
        yield* time.advance("3 hours")
        const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
        expect(stopped.data.finalCost).toBe(3_000_000n)
      }))

    it.effect("illegal transitions are 409, unknown sessions 404, another address's session 403", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("stablecoin-economics") } })
        const ref = { sessionId: s.data.sessionId, userAddress: user }
        expect(yield* statusOf("/api/session/resume", ref)).toBe(409)
        yield* client.session.pause({ payload: ref })
        const again = yield* post("/api/session/pause", ref)
        expect(again.status).toBe(409)
        expect(again.body).toMatchObject({ error: "Conflict", statusCode: 409, message: "a PAUSED session cannot be paused" })
        expect(yield* statusOf("/api/session/pause", { ...ref, userAddress: randomAddress() })).toBe(403)
        expect(yield* statusOf("/api/session/pause", { ...ref, sessionId: "session_abc_00000000" })).toBe(404)
        yield* client.session.stop({ payload: ref })
        expect(yield* statusOf("/api/session/resume", ref)).toBe(409)
        expect(yield* statusOf("/api/session/stop", ref)).toBe(409)
      }))

    it.effect("start validates its input: 400 bad address or body, 404 unknown content", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        expect(yield* statusOf("/api/session/start", { userAddress: "0x123", contentId: "intro-to-defi" })).toBe(400)
        expect(yield* statusOf("/api/session/start", { userAddress: user })).toBe(400)
        expect(yield* statusOf("/api/session/start", { userAddress: user, contentId: "intro-to-defi", extra: 1 })).toBe(400)
        const missing = yield* post("/api/session/start", { userAddress: user, contentId: "no-such-thing" })
        expect(missing.status).toBe(404)
        expect(missing.body).toMatchObject({ error: "Not Found", statusCode: 404 })
      }))

    it.effect("parallel starts of one user and content: exactly one 201, the rest 409", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const statuses = yield* Effect.all(
          Array.from({ length: 12 }, () => statusOf("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })),
          { concurrency: "unbounded" }
        )
        expect(statuses.filter((s) => s === 201)).toHaveLength(1)
        expect(statuses.filter((s) => s === 409)).toHaveLength(11)
      }))

    it.effect("open sessions reserve their full price: spendable never goes below zero", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer({ principal: 15n * USDC })
        expect(yield* statusOf("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })).toBe(201)
        expect(yield* statusOf("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })).toBe(201)
        const third = yield* post("/api/session/start", { userAddress: user, contentId: "nft-art-stories" })
        expect(third.status).toBe(400)
        expect(third.body).toMatchObject({ error: "Bad Request", message: expect.stringContaining("insufficient balance") })
      }))

    it.effect("parallel starts across contents never promise more than the vault holds", () =>
      Effect.gen(function* () {
        // 20 USDC covers intro (10) + yield-farming (5) + nft (3) = 18, but not inside-the-evm (25) or stablecoin (8) on top
        const user = yield* fundedViewer({ principal: 20n * USDC })
        const contents = ["intro-to-defi", "yield-farming-101", "inside-the-evm", "stablecoin-economics", "nft-art-stories"]
        yield* Effect.all(contents.map((contentId) => statusOf("/api/session/start", { userAddress: user, contentId })), { concurrency: "unbounded" })
        const client = yield* apiClient
        const open = yield* client.session.active({ path: { userAddress: user } })
        const prices: Record<string, bigint> = {
          "intro-to-defi": 10n,
          "yield-farming-101": 5n,
          "inside-the-evm": 25n,
          "stablecoin-economics": 8n,
          "nft-art-stories": 3n
        }
        const reserved = open.data.reduce((sum, s) => sum + (prices[s.content.id] ?? 0n) * USDC, 0n)
        expect(open.data.length).toBeGreaterThan(0)
        expect(reserved).toBeLessThanOrEqual(20n * USDC)
      }))

    it.effect("20 parallel stops of one session: exactly one payment, no 500", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("inside-the-evm") } })
        yield* time.advance("1 hour")
        const ref = { sessionId: s.data.sessionId, userAddress: user }
        const results = yield* Effect.all(Array.from({ length: 20 }, () => post("/api/session/stop", ref)), { concurrency: "unbounded" })
        const statuses = results.map((r) => r.status)
        expect(statuses.filter((x) => x === 200)).toHaveLength(1)
        expect(statuses.filter((x) => x === 409)).toHaveLength(19)
        const events = yield* settlementsOnChain(BigInt(s.data.settlementKey))
        expect(events).toHaveLength(1)
        expect(events[0]?.args.amount).toBe(12_500_000n)
      }))

    it.effect("a crash between sending and recording is finished by the reconciler, paying once", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const chain = yield* Chain
        const sql = yield* SqlClient.SqlClient
        const outbox = yield* SettlementOutbox
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
        const key = BigInt(s.data.settlementKey)
        // what the stop's first transaction writes: SETTLING + the outbox row ...
        yield* sql`UPDATE sessions SET status = 'SETTLING', ended_at = now(), billed_seconds = 360, final_cost = 1000000 WHERE id = ${s.data.sessionId}`
        yield* sql`INSERT INTO settlements (session_id, settlement_key, user_address, content_id, amount, mode, status, created_at, updated_at)
                   VALUES (${s.data.sessionId}, ${key.toString()}, ${user}, 'intro-to-defi', 1000000, 'operator', 'PENDING', now(), now())`
        // ... then the send reaches the chain, and the process dies before recording it
        const sent = yield* chain.settle({ sessionKey: key, user, contentId: "intro-to-defi", amount: 1_000_000n })

        const report = yield* outbox.reconcile(0)
        expect(report.confirmed).toBeGreaterThanOrEqual(1)
        const detail = yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: user } })
        expect(detail.data.status).toBe("COMPLETED")
        expect(detail.data.payment?.txHash).toBe(sent.txHash)
        expect(yield* settlementsOnChain(key)).toHaveLength(1)
        // running it again changes nothing
        yield* outbox.reconcile(0)
        expect(yield* settlementsOnChain(key)).toHaveLength(1)
      }))

    it.effect("a pending settlement the chain never saw is sent by the reconciler", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const sql = yield* SqlClient.SqlClient
        const outbox = yield* SettlementOutbox
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } })
        const key = BigInt(s.data.settlementKey)
        yield* sql`UPDATE sessions SET status = 'SETTLING', ended_at = now(), billed_seconds = 360, final_cost = 1000000 WHERE id = ${s.data.sessionId}`
        yield* sql`INSERT INTO settlements (session_id, settlement_key, user_address, content_id, amount, mode, status, created_at, updated_at)
                   VALUES (${s.data.sessionId}, ${key.toString()}, ${user}, 'yield-farming-101', 1000000, 'operator', 'PENDING', now(), now())`
        yield* outbox.reconcile(0)
        const detail = yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: user } })
        expect(detail.data.status).toBe("COMPLETED")
        expect(yield* settlementsOnChain(key)).toHaveLength(1)
      }))

    it.effect("a viewer who paid themselves: a matching txHash completes the session, anything else is 400", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const other = yield* client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } })
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
        yield* time.advance("36 minutes") // 2160 s -> 6 USDC
        const viewer = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: user })
        const pay = (key: string, amount: bigint) =>
          Effect.promise(async () => {
            const hash = await viewer.writeContract({
              address: dev.deployment.wallet,
              abi: streamingWalletAbi,
              functionName: "payForSession",
              args: [BigInt(key), contentKeyOf("intro-to-defi"), amount]
            })
            await dev.publicClient.waitForTransactionReceipt({ hash })
            return hash
          })
        // a payment for another session's key does not prove this one
        const wrong = yield* pay(other.data.settlementKey, 6_000_000n)
        const rejected = yield* post("/api/session/stop", { sessionId: s.data.sessionId, userAddress: user, txHash: wrong })
        expect(rejected.status).toBe(400)
        expect(rejected.body).toMatchObject({ error: "Bad Request", message: expect.stringContaining("does not prove payment") })
        const forged = yield* post("/api/session/stop", { sessionId: s.data.sessionId, userAddress: user, txHash: `0x${"ab".repeat(32)}` })
        expect(forged.status).toBe(400)
        // still open: nothing changed
        const still = yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: user } })
        expect(still.data.status).toBe("ACTIVE")

        const paid = yield* pay(s.data.settlementKey, 6_000_000n)
        const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user, txHash: paid } })
        expect(stopped.data).toMatchObject({ status: "completed", finalCost: 6_000_000n })
        expect(stopped.data.payment?.txHash).toBe(paid)
        // the viewer's own payment, and no operator settlement on top of it
        expect(yield* settlementsOnChain(BigInt(s.data.settlementKey))).toHaveLength(0)
      }))

    it.effect("a settlement the chain refuses ends FAILED with the reason, and the viewer is not charged", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const chain = yield* Chain
        const time = yield* TimeTravel
        const user = yield* fundedViewer({ principal: 50n * USDC })
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("nft-art-stories") } })
        yield* time.advance("5 minutes")
        yield* dev.delist("nft-art-stories")
        const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } }).pipe(
          Effect.ensuring(
            dev.list("nft-art-stories", { price: 3n * USDC, duration: 900n, creator: toAddress("0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f") })
          )
        )
        expect(stopped.data).toMatchObject({ status: "failed", payment: null, failureReason: expect.stringContaining("ContentNotListed") })
        expect(yield* chain.balancesOf(user)).toEqual({ yieldBalance: 0n, principal: 50n * USDC })
        expect(yield* settlementsOnChain(BigInt(s.data.settlementKey))).toHaveLength(0)
      }))

    it.effect("content whose on-chain price disagrees with the catalogue cannot be started", () =>
      Effect.gen(function* () {
        const dev = yield* DevChain
        const user = yield* fundedViewer()
        yield* dev.list("stablecoin-economics", { price: 9n * USDC, duration: 2700n, creator: toAddress("0x14dc79964da2c08b23698b3d3cc7ca32193d9955") })
        const r = yield* post("/api/session/start", { userAddress: user, contentId: "stablecoin-economics" })
        yield* dev.list("stablecoin-economics", { price: 8n * USDC, duration: 2700n, creator: toAddress("0x14dc79964da2c08b23698b3d3cc7ca32193d9955") })
        expect(r.status).toBe(400)
        expect(r.body).toMatchObject({ message: expect.stringContaining("on-chain price") })
      }))

    it.effect("active and history list a user's sessions, newest first, with a cursor", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const ids: Array<string> = []
        for (const contentId of ["intro-to-defi", "yield-farming-101", "nft-art-stories"]) {
          const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid(contentId) } })
          ids.push(s.data.sessionId)
          yield* time.advance("1 minute")
        }
        yield* client.session.stop({ payload: { sessionId: SessionId.make(ids[0] ?? ""), userAddress: user } })
        const active = yield* client.session.active({ path: { userAddress: user } })
        expect(active.data.map((s) => s.sessionId)).toEqual([ids[2], ids[1]])
        expect(active.data[0]).toMatchObject({ status: "ACTIVE", content: { id: "nft-art-stories", title: "Stories behind NFT Art" } })

        const page1 = yield* client.session.history({ path: { userAddress: user }, urlParams: { limit: 2 } })
        expect(page1.data.map((s) => s.sessionId)).toEqual([ids[2], ids[1]])
        expect(page1.nextCursor).not.toBeNull()
        const page2 = yield* client.session.history({ path: { userAddress: user }, urlParams: { limit: 2, cursor: page1.nextCursor ?? "" } })
        expect(page2.data.map((s) => s.sessionId)).toEqual([ids[0]])
        // the first session ran for the three minutes the loop advanced: 180 s of a 3600 s item priced 10 USDC
        expect(page2.data[0]).toMatchObject({ status: "COMPLETED", totalDuration: 180, finalCost: 500_000n })
        expect(page2.nextCursor).toBeNull()

        const http = yield* HttpClient.HttpClient
        expect((yield* http.get(`/api/session/user/${user}/history?limit=101`)).status).toBe(400)
        expect((yield* http.get(`/api/session/user/${user}/history?limit=abc`)).status).toBe(400)
        expect((yield* http.get(`/api/session/user/${user}/history?cursor=bm9wZQ`)).status).toBe(400)
      }))

    it.effect("the sweeper stops and settles sessions idle past SESSION_MAX_IDLE", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } })
        yield* time.advance("7 hours")
        const { sweepIdle } = yield* Effect.promise(() => import("../src/session/Background.js"))
        const swept = yield* sweepIdle
        expect(swept).toBeGreaterThanOrEqual(1)
        const detail = yield* client.session.get({ path: { sessionId: s.data.sessionId }, urlParams: { userAddress: user } })
        expect(detail.data.status).toBe("COMPLETED")
        expect(detail.data.finalCost).toBe(5_000_000n)
      }))
  })
})

