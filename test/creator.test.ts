import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createWalletClient, getAddress } from "viem"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { streamingWalletAbi } from "../src/chain/contracts.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { ContentId } from "../src/domain/Content.js"
import { windowStart } from "../src/creator/Creators.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { getJson, isoTimestamp, seedErrorBody } from "./support/http.js"
import { fundedViewer, randomAddress } from "./support/users.js"

const creator = toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")

/** The creator's own `withdrawEarnings()` from their wallet (impersonated on the development chain), as docs/API.md shows it. */
const withdrawAsCreator = (who: Address) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    yield* Effect.promise(() => dev.testClient.impersonateAccount({ address: who }))
    yield* Effect.promise(() => dev.testClient.setBalance({ address: who, value: 10n ** 18n }))
    const wallet = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: who })
    return yield* Effect.promise(async () => {
      const hash = await wallet.writeContract({ address: dev.deployment.wallet, abi: streamingWalletAbi, functionName: "withdrawEarnings" })
      return dev.publicClient.waitForTransactionReceipt({ hash })
    })
  })

describe("pure parts", () => {
  it("the byDay window starts at midnight UTC, `days - 1` days before today", () => {
    const noon = Date.UTC(2026, 0, 31, 12)
    expect(new Date(windowStart(noon, 1)).toISOString()).toBe("2026-01-31T00:00:00.000Z")
    expect(new Date(windowStart(noon, 30)).toISOString()).toBe("2026-01-02T00:00:00.000Z")
  })
})

describe("GET /api/creator/:creatorAddress/earnings", () => {
  it.layer(TestApp({ RECONCILE_INTERVAL: "24 hours", SESSION_MAX_IDLE: "24 hours" }), { timeout: 180_000 })((it) => {
    it.effect("after settled sessions: withdrawable on chain, earned per content and per day; zero after the creator withdraws", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const dev = yield* DevChain
        const appDay = () => new Date(Date.now() + time.offsetMs()).toISOString().slice(0, 10)
        /** One session of `minutes` on `contentId`, paid; the UTC day it was paid on. */
        const watch = (contentId: string, minutes: number) =>
          Effect.gen(function* () {
            const user = yield* fundedViewer()
            const s = yield* client.session.start({ payload: { userAddress: user, contentId: ContentId.make(contentId) } })
            yield* time.advance(`${minutes} minutes`)
            const stopped = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
            expect(stopped.data.status).toBe("completed")
            return { day: appDay(), cost: stopped.data.finalCost }
          })

        const paid = [
          yield* watch("intro-to-defi", 6), // 1 USDC
          yield* watch("intro-to-defi", 6), // 1 USDC
          yield* watch("yield-farming-101", 6), // 1 USDC
          yield* watch("inside-the-evm", 6) // another creator's
        ]
        yield* time.advance("1 day")
        paid.push(yield* watch("yield-farming-101", 9)) // 1.5 USDC, a day later
        expect(paid.map((p) => p.cost)).toEqual([1_000_000n, 1_000_000n, 1_000_000n, 1_250_000n, 1_500_000n])
        const ours = paid.filter((_, i) => i !== 3)
        const expectedDays = new Map<string, { sessions: number; earned: bigint }>()
        for (const p of ours) {
          const d = expectedDays.get(p.day) ?? { sessions: 0, earned: 0n }
          expectedDays.set(p.day, { sessions: d.sessions + 1, earned: d.earned + p.cost })
        }
        const byDay = [...expectedDays.entries()]
          .sort(([a], [b]) => (a < b ? 1 : -1))
          .map(([day, d]) => ({ day, sessions: d.sessions, earned: d.earned.toString(), formatted: { earned: expect.stringMatching(/ USDC$/) } }))

        const onChain = yield* dev.earningsOf(creator)
        expect(onChain).toBe(4_500_000n)
        const { body, status } = yield* getJson(`/api/creator/${creator}/earnings`)
        expect(status).toBe(200)
        expect(body).toStrictEqual({
          success: true,
          data: {
            creatorAddress: getAddress(creator),
            withdrawable: "4500000",
            earned: "4500000",
            sessions: 4,
            byContent: [
              { contentId: "yield-farming-101", title: "Yield Farming 101", sessions: 2, earned: "2500000", formatted: { earned: "2.50 USDC" } },
              { contentId: "intro-to-defi", title: "Introduction to DeFi", sessions: 2, earned: "2000000", formatted: { earned: "2.00 USDC" } }
            ],
            byDay,
            withdrawal: { contract: getAddress(dev.deployment.wallet), function: "withdrawEarnings()" },
            formatted: { withdrawable: "4.50 USDC", earned: "4.50 USDC" }
          },
          timestamp: isoTimestamp
        })
        // only today's payments with days=1
        const today = yield* client.creator.earnings({ path: { creatorAddress: creator }, urlParams: { days: 1 } })
        expect(today.data.byDay).toEqual([{ day: appDay(), sessions: 1, earned: 1_500_000n, formatted: { earned: "1.50 USDC" } }])

        // the creator withdraws from their own wallet: nothing left to withdraw, the records keep what was earned
        const receipt = yield* withdrawAsCreator(creator)
        expect(receipt.status).toBe("success")
        const after = yield* client.creator.earnings({ path: { creatorAddress: creator }, urlParams: {} })
        expect(after.data).toMatchObject({ withdrawable: 0n, earned: 4_500_000n, formatted: { withdrawable: "0.00 USDC", earned: "4.50 USDC" } })
      }))

    it.effect("a creator with nothing is all zeros, not a 404", () =>
      Effect.gen(function* () {
        const nobody = randomAddress()
        const dev = yield* DevChain
        const { body, status } = yield* getJson(`/api/creator/${nobody}/earnings`)
        expect(status).toBe(200)
        expect(body).toStrictEqual({
          success: true,
          data: {
            creatorAddress: getAddress(nobody),
            withdrawable: "0",
            earned: "0",
            sessions: 0,
            byContent: [],
            byDay: [],
            withdrawal: { contract: getAddress(dev.deployment.wallet), function: "withdrawEarnings()" },
            formatted: { withdrawable: "0.00 USDC", earned: "0.00 USDC" }
          },
          timestamp: isoTimestamp
        })
      }))

    it.effect("a malformed address or days is a 400 in the seed's error format", () =>
      Effect.gen(function* () {
        for (const url of [
          "/api/creator/0x123/earnings",
          `/api/creator/0x${"g".repeat(40)}/earnings`,
          "/api/creator/not-an-address/earnings",
          `/api/creator/${creator}/earnings?days=0`,
          `/api/creator/${creator}/earnings?days=367`,
          `/api/creator/${creator}/earnings?days=1.5`,
          `/api/creator/${creator}/earnings?days=x`
        ]) {
          const { body, status } = yield* getJson(url)
          expect({ url, status }).toEqual({ url, status: 400 })
          expect(body).toEqual(seedErrorBody(400, "Bad Request"))
        }
      }))
  })
})
