import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { createWalletClient } from "viem"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { yieldVaultAbi } from "../src/chain/contracts.js"
import type { Address } from "../src/domain/Address.js"
import { TimeTravel } from "./support/clock.js"
import { countingRpc } from "./support/countingRpc.js"
import { getJson, postJson } from "./support/http.js"
import { SlowWorld, slowChainApp } from "./support/slowChainApp.js"
import { USDC, randomAddress } from "./support/users.js"

/**
 * The chain view on a `hardhat node` mining a block a second behind a proxy adding 20 ms per request,
 * with the app's requests written down by a counting proxy in front of it (CONFIRMATIONS=2):
 * - after a viewer's settlement is confirmed, their next start makes no chain request and sees exactly
 *   what is left, whether the view's re-read of the settlement's block landed or failed;
 * - a block naming k viewers the view holds costs one eth_call (their funds, read together at that block).
 */

const BLOCK_MS = 1_000

type Counting = Effect.Effect.Success<ReturnType<typeof countingRpc>>

const World = slowChainApp({
  blockTimeMs: BLOCK_MS,
  latencyMs: 20,
  viewers: 6,
  // 14 USDC each: a 10 USDC session, then 4 left
  principal: 14n * USDC,
  env: Effect.succeed({
    CONFIRMATIONS: "2",
    STOP_WAIT: "0 millis",
    SETTLEMENT_POLL_INTERVAL: "50 millis",
    RECONCILE_INTERVAL: "24 hours",
    SESSION_MAX_IDLE: "24 hours"
  })
})

const field = (value: unknown, ...keys: ReadonlyArray<string>): unknown =>
  keys.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? Reflect.get(v, k) : undefined), value)

/** Retries until `holds` (generously: the machine may be loaded). */
const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>, holds: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(holds, () => "not yet"),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("60 seconds"))),
    Effect.orDie
  )

/** The view's head, as /api/status reports it. */
const viewHead = Effect.map(getJson("/api/status"), (a) => BigInt(String(field(a.body, "network", "blockNumber"))))

/** The block a session's settlement was recorded CONFIRMED at, once it is. */
const confirmedBlock = (sessionId: string) =>
  eventually(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly block: string | null }>`
      SELECT block_number::text AS block FROM settlements WHERE session_id = ${sessionId} AND status = 'CONFIRMED'`),
    (rows) => rows.length === 1
  ).pipe(Effect.map((rows) => BigInt(rows[0]?.block ?? "0")))

/** Requests of the app that are not the view's poller's own (the head, the new blocks' logs) since `mark`. */
const othersSince = (rpc: Counting, mark: number) => rpc.since(mark).filter((m) => m !== "eth_blockNumber" && m !== "eth_getLogs")

/** Watches `intro-to-defi` (10 USDC) to its end and stops: the settlement's session id. */
const watchedAndStopped = (user: Address) =>
  Effect.gen(function* () {
    const time = yield* TimeTravel
    const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const sessionId = String(field(started.body, "data", "sessionId"))
    yield* time.advance("2 hours")
    const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: user })
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(202)
    return sessionId
  })

/** With 4 USDC left: 5 USDC is refused with exactly that figure, 3 USDC starts; neither asks the chain. */
const startsWithFourLeft = (rpc: Counting, user: Address) =>
  Effect.gen(function* () {
    // the view holds both listings
    for (const id of ["yield-farming-101", "nft-art-stories"]) expect((yield* getJson(`/api/content/${id}`)).status).toBe(200)
    const mark = rpc.mark()
    const refused = yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })
    expect(refused.status).toBe(400)
    expect(String(field(refused.body, "message"))).toContain(`(${5n * USDC}) but only 4.00 USDC (${4n * USDC}) is spendable`)
    const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "nft-art-stories" })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    expect(othersSince(rpc, mark)).toEqual([])
  })

describe("the chain view on a chain with 1 s blocks", () => {
  layer(World, { timeout: 240_000, excludeTestServices: true })((it) => {
    it.effect("after a viewer's settlement is confirmed, their next start asks the chain nothing and sees exactly what is left", () =>
      Effect.gen(function* () {
        const { rpc, viewers } = yield* SlowWorld
        const user = viewers[0] ?? randomAddress()
        const sessionId = yield* watchedAndStopped(user)
        const mined = yield* confirmedBlock(sessionId)
        // the view has applied the settlement's block (and its re-read of the viewer landed, at that block)
        yield* eventually(viewHead, (h) => h >= mined)
        yield* startsWithFourLeft(rpc, user)
      }))

    it.effect("the same while the view's re-reads of the viewer fail: its entry from before, less the recorded payment; the next block's re-read after", () =>
      Effect.gen(function* () {
        const { chain, rpc, viewers } = yield* SlowWorld
        const user = viewers[1] ?? randomAddress()
        const balance = Effect.map(getJson(`/api/user/${user}/balance`), (a) => String(field(a.body, "data", "totalBalance")))
        // the view holds the viewer's funds (14 USDC) from before the session
        expect(yield* balance).toBe(String(14n * USDC))
        yield* chain.proxy.inject({ _tag: "RpcError", code: -32603, message: "header not found" }, { method: "eth_call" })
        const sessionId = yield* watchedAndStopped(user)
        const mined = yield* confirmedBlock(sessionId)
        // no more blocks: the view has applied the last one (its re-read failing) and asks nothing more
        yield* chain.halt
        const last = yield* chain.head
        yield* eventually(viewHead, (h) => h >= last && h > mined)
        expect(yield* balance).toBe(String(14n * USDC))
        yield* startsWithFourLeft(rpc, user)
        yield* chain.proxy.heal
        yield* chain.slowDown()
        yield* eventually(balance, (b) => b === String(4n * USDC))
      }))

    it.effect("a block naming k viewers the view holds costs one eth_call, and their figures are the new ones", () =>
      Effect.gen(function* () {
        const { chain, rpc, viewers } = yield* SlowWorld
        const dev = yield* DevChain
        const named = viewers.slice(2)
        // the view holds each viewer's funds
        for (const user of named) expect((yield* getJson(`/api/user/${user}/balance`)).status).toBe(200)
        yield* chain.halt
        const start = yield* chain.head
        yield* eventually(viewHead, (h) => h >= start)
        // each viewer cuts their allowance to 2 USDC: k transactions waiting for one block
        yield* Effect.forEach(named, (user) =>
          Effect.promise(() =>
            createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: user }).writeContract({
              address: dev.deployment.vault,
              abi: yieldVaultAbi,
              functionName: "approveSpender",
              args: [dev.deployment.wallet, 2n * USDC]
            })
          )
        )
        const mark = rpc.mark()
        yield* chain.mine(1)
        yield* eventually(viewHead, (h) => h >= start + 1n)
        expect(rpc.since(mark).filter((m) => m === "eth_call")).toHaveLength(1)
        // the new allowance, from that one read: a 3 USDC session is refused with 2 USDC spendable
        for (const user of named) {
          const refused = yield* postJson("/api/session/start", { userAddress: user, contentId: "nft-art-stories" })
          expect(refused.status).toBe(400)
          expect(String(field(refused.body, "message"))).toContain(`only 2.00 USDC (${2n * USDC}) is spendable`)
        }
        expect(othersSince(rpc, mark).filter((m) => m === "eth_call")).toHaveLength(1)
        yield* chain.slowDown()
      }))
  })
})
