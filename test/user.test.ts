import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { getAddress } from "viem"
import { demoAccounts } from "../src/chain/ChainInProcess.js"
import { seedViewer } from "../src/content/catalogue.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { Chain } from "../src/domain/Chain.js"
import { makeSessionId, type SessionStatus } from "../src/domain/Session.js"
import { apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { FlakyTestApp, whileChainDown } from "./support/flakyChain.js"
import { USDC, fundedViewer, randomAddress } from "./support/users.js"
import { getJson, isoTimestamp, seedErrorBody } from "./support/http.js"

const demo = (i: number): Address => {
  const a = demoAccounts[i]
  if (!a) throw new Error(`no demo account ${i}`)
  return a
}

/** A session row written straight into the database (the sessions routes are not under test here). */
const insertSession = (row: {
  readonly user: Address
  readonly contentId: string
  readonly status: SessionStatus
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly activeMs: number
  readonly segmentStartedAt: number
  readonly billedSeconds: number | null
  readonly finalCost: bigint | null
}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const id = makeSessionId(row.segmentStartedAt, randomBytes(4).toString("hex"))
    const open = row.status === "ACTIVE" || row.status === "PAUSED"
    const startedAt = new Date(row.segmentStartedAt - row.activeMs)
    const rows = yield* sql<{ readonly settlementKey: string }>`
      INSERT INTO sessions (id, settlement_key, user_address, content_id, status, full_price, total_duration, started_at, active_ms, paused_ms,
                            segment_started_at, ended_at, billed_seconds, final_cost, updated_at)
      VALUES (${id}, nextval('settlement_key_seq'), ${row.user}, ${row.contentId}, ${row.status}, ${row.fullPrice.toString()}::numeric, ${row.totalDuration}, ${startedAt},
              ${row.activeMs}, 0, ${new Date(row.segmentStartedAt)}, ${open ? null : new Date(row.segmentStartedAt)}::timestamptz,
              ${row.billedSeconds}::integer, ${row.finalCost === null ? null : row.finalCost.toString()}::numeric, ${new Date(row.segmentStartedAt)})
      RETURNING settlement_key::text AS "settlementKey"`
    const key = rows[0]?.settlementKey
    if (key === undefined) throw new Error("insert returned no key")
    return { id, key, user: row.user, contentId: row.contentId }
  })

const insertSettlement = (
  session: { readonly id: string; readonly key: string; readonly user: Address; readonly contentId: string },
  amount: bigint,
  status: "PENDING" | "CONFIRMED" | "FAILED"
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO settlements (session_id, settlement_key, user_address, content_id, amount, mode, status, created_at, updated_at)
      VALUES (${session.id}, ${session.key}::bigint, ${session.user}, ${session.contentId}, ${amount.toString()}::numeric, 'operator', ${status},
              now(), now())`
  )

describe("user API", () => {
  // the reconciler and the sweeper are pushed out of the way: the rows below are written by hand
  it.layer(FlakyTestApp({ RECONCILE_INTERVAL: "24 hours", SESSION_MAX_IDLE: "24 hours" }), { timeout: 120_000 })((it) => {
    it.effect("the seed's example address shows the seed's balances on the demo chain", () =>
      Effect.gen(function* () {
        const { body, status } = yield* getJson("/api/user/0x742C4B0F8e6cD2E0b35e8eF6dbC66f5c6D4B9E8a/balance")
        expect(status).toBe(200)
        expect(body).toStrictEqual({
          success: true,
          data: {
            userAddress: getAddress(seedViewer),
            yieldBalance: "50000000",
            principalBalance: "200000000",
            totalBalance: "250000000",
            reserved: "0",
            debt: "0",
            spendable: "250000000",
            formatted: {
              yield: "50.00 USDC",
              principal: "200.00 USDC",
              total: "250.00 USDC",
              reserved: "0.00 USDC",
              debt: "0.00 USDC",
              spendable: "250.00 USDC"
            }
          },
          timestamp: isoTimestamp
        })
      }))

    it.effect("an address is accepted in any case and returned in EIP-55 form", () =>
      Effect.gen(function* () {
        const eip55 = getAddress(seedViewer)
        // the seed's example is not checksummed: what comes back is the checksummed form of the same address
        expect(eip55.toLowerCase()).toBe(seedViewer)
        for (const variant of [seedViewer, `0x${seedViewer.slice(2).toUpperCase()}`, eip55]) {
          const { body, status } = yield* getJson(`/api/user/${variant}/balance`)
          expect(status).toBe(200)
          expect(body).toMatchObject({ data: { userAddress: eip55, totalBalance: "250000000" } })
        }
        const client = yield* apiClient
        const typed = yield* client.user.balance({ path: { userAddress: toAddress(seedViewer) } })
        expect(typed.data).toMatchObject({ userAddress: seedViewer, yieldBalance: 50_000_000n, principalBalance: 200_000_000n, totalBalance: 250_000_000n })
      }))

    it.effect("an unknown but valid address has zero balances, not a 404", () =>
      Effect.gen(function* () {
        const user = randomAddress()
        const { body, status } = yield* getJson(`/api/user/${user}/balance`)
        expect(status).toBe(200)
        expect(body).toStrictEqual({
          success: true,
          data: {
            userAddress: getAddress(user),
            yieldBalance: "0",
            principalBalance: "0",
            totalBalance: "0",
            reserved: "0",
            debt: "0",
            spendable: "0",
            formatted: { yield: "0.00 USDC", principal: "0.00 USDC", total: "0.00 USDC", reserved: "0.00 USDC", debt: "0.00 USDC", spendable: "0.00 USDC" }
          },
          timestamp: isoTimestamp
        })
      }))

    it.effect("a malformed address is a 400 in the seed's error format, on both routes", () =>
      Effect.gen(function* () {
        const bad = [
          "0x123",
          "not-an-address",
          `0x${"g".repeat(40)}`,
          `0x${"a".repeat(41)}`,
          "742C4B0F8e6cD2E0b35e8eF6dbC66f5c6D4B9E8a",
          `0X${"a".repeat(40)}`
        ]
        for (const address of bad) {
          for (const route of ["balance", "stats"]) {
            const { body, status } = yield* getJson(`/api/user/${address}/${route}`)
            expect({ address, route, status }).toEqual({ address, route, status: 400 })
            expect(body).toEqual(seedErrorBody(400, "Bad Request"))
            expect(JSON.stringify(body)).not.toMatch(/_tag|issues|HttpApiDecodeError/)
          }
        }
      }))

    it.effect("balances before and after a settlement: yield is spent first, then principal", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const chain = yield* Chain
        const user = demo(0)
        const before = yield* client.user.balance({ path: { userAddress: user } })
        expect(before.data).toMatchObject({ yieldBalance: 25n * USDC, principalBalance: 500n * USDC, totalBalance: 525n * USDC })

        const settled = yield* chain.settle({ sessionKey: 900001n, user, contentId: "intro-to-defi", amount: 7_500_000n })
        expect(settled).toMatchObject({ amount: 7_500_000n, fromYield: 7_500_000n, fromPrincipal: 0n })
        const after = yield* getJson(`/api/user/${user}/balance`)
        expect(after.body).toMatchObject({
          data: {
            yieldBalance: "17500000",
            principalBalance: "500000000",
            totalBalance: "517500000",
            formatted: { yield: "17.50 USDC", principal: "500.00 USDC", total: "517.50 USDC" }
          }
        })

        // the same key again is refused on chain (AlreadySettled), and nothing moves
        const again = yield* Effect.flip(chain.settle({ sessionKey: 900001n, user, contentId: "intro-to-defi", amount: 7_500_000n }))
        expect(again._tag).toBe("SettlementRejected")
        const unchanged = yield* client.user.balance({ path: { userAddress: user } })
        expect(unchanged.data.totalBalance).toBe(517_500_000n)

        // more than the yield: the rest comes from principal
        const small = yield* fundedViewer({ principal: 5n * USDC, yieldAmount: 1n * USDC })
        const split = yield* chain.settle({ sessionKey: 900002n, user: small, contentId: "intro-to-defi", amount: 3n * USDC })
        expect(split).toMatchObject({ fromYield: 1n * USDC, fromPrincipal: 2n * USDC })
        const drained = yield* getJson(`/api/user/${small}/balance`)
        expect(drained.body).toMatchObject({
          data: {
            userAddress: getAddress(small),
            yieldBalance: "0",
            principalBalance: "3000000",
            totalBalance: "3000000",
            formatted: { yield: "0.00 USDC", principal: "3.00 USDC", total: "3.00 USDC" }
          }
        })
      }))

    it.effect("reserved is the estimated cost of open sessions; spendable is total - reserved, never below 0", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const now = Date.now() + time.offsetMs()
        const rich = demo(1)
        yield* insertSession({
          user: rich,
          contentId: "inside-the-evm",
          status: "PAUSED",
          fullPrice: 25n * USDC,
          totalDuration: 7200,
          activeMs: 5_000,
          segmentStartedAt: now - 1_000,
          billedSeconds: null,
          finalCost: null
        })
        const r = yield* client.user.balance({ path: { userAddress: rich } })
        expect(r.data).toMatchObject({ totalBalance: 525n * USDC, reserved: 25n * USDC, spendable: 500n * USDC })
        expect(r.data.formatted).toMatchObject({ reserved: "25.00 USDC", spendable: "500.00 USDC" })

        const poor = yield* fundedViewer({ principal: 5n * USDC, yieldAmount: 1n * USDC })
        yield* insertSession({
          user: poor,
          contentId: "intro-to-defi",
          status: "ACTIVE",
          fullPrice: 10n * USDC,
          totalDuration: 3600,
          activeMs: 0,
          segmentStartedAt: now - 1_000,
          billedSeconds: null,
          finalCost: null
        })
        const p = yield* getJson(`/api/user/${poor}/balance`)
        expect(p.body).toMatchObject({
          data: { totalBalance: "6000000", reserved: "10000000", spendable: "0", formatted: { spendable: "0.00 USDC" } }
        })
      }))

    it.effect("stats over completed, cancelled, failed, settling, active and paused sessions are exact", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const user = demo(2)
        // the server's clock: real time plus the test's offset
        const now = Date.now() + time.offsetMs()
        const minute = 60_000

        const completed1 = yield* insertSession({
          user, contentId: "intro-to-defi", status: "COMPLETED", fullPrice: 10n * USDC, totalDuration: 3600,
          activeMs: 1_800_400, segmentStartedAt: now - 300 * minute, billedSeconds: 1800, finalCost: 5n * USDC
        })
        yield* insertSettlement(completed1, 5n * USDC, "CONFIRMED")
        const completed2 = yield* insertSession({
          user, contentId: "yield-farming-101", status: "COMPLETED", fullPrice: 5n * USDC, totalDuration: 1800,
          activeMs: 900_999, segmentStartedAt: now - 200 * minute, billedSeconds: 900, finalCost: 2_500_000n
        })
        yield* insertSettlement(completed2, 2_500_000n, "CONFIRMED")
        // cost 0: cancelled, nothing paid
        yield* insertSession({
          user, contentId: "inside-the-evm", status: "CANCELLED", fullPrice: 25n * USDC, totalDuration: 7200,
          activeMs: 400, segmentStartedAt: now - 100 * minute, billedSeconds: 0, finalCost: 0n
        })
        // a payment that failed was not spent
        const failed = yield* insertSession({
          user, contentId: "stablecoin-economics", status: "FAILED", fullPrice: 8n * USDC, totalDuration: 2700,
          activeMs: 60_500, segmentStartedAt: now - 90 * minute, billedSeconds: 60, finalCost: 177_777n
        })
        yield* insertSettlement(failed, 177_777n, "FAILED")
        // a payment in flight is not spent yet (but it is reserved)
        const settling = yield* insertSession({
          user, contentId: "nft-art-stories", status: "SETTLING", fullPrice: 3n * USDC, totalDuration: 900,
          activeMs: 300_000, segmentStartedAt: now - 80 * minute, billedSeconds: 300, finalCost: 1n * USDC
        })
        yield* insertSettlement(settling, 1n * USDC, "PENDING")
        // open: 30 s from earlier segments plus 90 s in the running one -> 120 s so far
        yield* insertSession({
          user, contentId: "intro-to-defi", status: "ACTIVE", fullPrice: 10n * USDC, totalDuration: 3600,
          activeMs: 30_000, segmentStartedAt: now - 90_000, billedSeconds: null, finalCost: null
        })
        // paused for a long time: only the 45.999 s of active time count, floored
        yield* insertSession({
          user, contentId: "yield-farming-101", status: "PAUSED", fullPrice: 5n * USDC, totalDuration: 1800,
          activeMs: 45_999, segmentStartedAt: now - 1_000 * minute, billedSeconds: null, finalCost: null
        })
        // another user's session counts for nobody here
        yield* insertSession({
          user: randomAddress(), contentId: "intro-to-defi", status: "COMPLETED", fullPrice: 10n * USDC, totalDuration: 3600,
          activeMs: 3_600_000, segmentStartedAt: now - 10 * minute, billedSeconds: 3600, finalCost: 10n * USDC
        })

        const watch = 1800 + 900 + 0 + 60 + 300 + 120 + 45
        const { body, status } = yield* getJson(`/api/user/${user}/stats`)
        expect(status).toBe(200)
        expect(body).toStrictEqual({
          success: true,
          data: {
            totalSessions: 7,
            completedSessions: 2,
            totalWatchTime: watch,
            averageWatchTime: Math.floor(watch / 7),
            totalSpent: "7500000",
            balance: {
              userAddress: getAddress(user),
              yieldBalance: "25000000",
              principalBalance: "500000000",
              totalBalance: "525000000",
              // ACTIVE 10 + PAUSED 5 + the PENDING payment 1
              reserved: "16000000",
              debt: "0",
              spendable: "509000000",
              formatted: {
                yield: "25.00 USDC",
                principal: "500.00 USDC",
                total: "525.00 USDC",
                reserved: "16.00 USDC",
                debt: "0.00 USDC",
                spendable: "509.00 USDC"
              }
            }
          },
          timestamp: isoTimestamp
        })
        expect(watch).toBe(3225)

        // the open session keeps counting with the server's Clock; the paused one does not
        yield* time.advance("10 minutes")
        const later = yield* client.user.stats({ path: { userAddress: user } })
        expect(later.data).toMatchObject({
          totalSessions: 7,
          totalWatchTime: watch + 600,
          averageWatchTime: Math.floor((watch + 600) / 7),
          totalSpent: 7_500_000n
        })

        // the address in another case names the same user
        const upper = yield* getJson(`/api/user/0x${user.slice(2).toUpperCase()}/stats`)
        expect(upper.body).toMatchObject({ data: { totalSessions: 7, completedSessions: 2 } })
      }))

    it.effect("a user without sessions has zero stats and an average of 0", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const user = randomAddress()
        const stats = yield* client.user.stats({ path: { userAddress: user } })
        expect(stats.data).toEqual({
          totalSessions: 0,
          completedSessions: 0,
          totalWatchTime: 0,
          averageWatchTime: 0,
          totalSpent: 0n,
          balance: {
            userAddress: user,
            yieldBalance: 0n,
            principalBalance: 0n,
            totalBalance: 0n,
            reserved: 0n,
            debt: 0n,
            spendable: 0n,
            formatted: { yield: "0.00 USDC", principal: "0.00 USDC", total: "0.00 USDC", reserved: "0.00 USDC", debt: "0.00 USDC", spendable: "0.00 USDC" }
          }
        })
      }))

    it.effect("with the chain down, balance and stats are a 503 in the seed's error format, and recover", () =>
      Effect.gen(function* () {
        const [balance, stats] = yield* whileChainDown(
          Effect.all([getJson(`/api/user/${seedViewer}/balance`), getJson(`/api/user/${seedViewer}/stats`)])
        )
        expect(balance.status).toBe(503)
        expect(balance.body).toEqual(seedErrorBody(503, "Service Unavailable"))
        expect(stats.status).toBe(503)
        expect(stats.body).toEqual(seedErrorBody(503, "Service Unavailable"))
        const back = yield* getJson(`/api/user/${seedViewer}/balance`)
        expect(back.status).toBe(200)
      }))
  })
})
