import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { createWalletClient } from "viem"
import { streamingWalletAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { Chain } from "../src/domain/Chain.js"
import { ContentId } from "../src/domain/Content.js"
import type { SessionId } from "../src/domain/Session.js"
import { SettlementOutbox } from "../src/session/SettlementOutbox.js"
import { DEBT_REVERTS, refusalOutcome } from "../src/session/SettlementRecorder.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { getJson, postJson, seedErrorBody } from "./support/http.js"
import { USDC, fundedViewer, settlementsOnChain } from "./support/users.js"

const cid = (id: string) => ContentId.make(id)

/** The viewer's own vault call (impersonated by `fundedViewer` on the dev chain): withdraw, or set the wallet's allowance. */
const asViewer = (user: Address, call: "withdraw" | "approve", amount: bigint) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const viewer = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: user })
    const vault = dev.deployment.vault
    yield* Effect.promise(async () => {
      const hash =
        call === "withdraw"
          ? await viewer.writeContract({ address: vault, abi: yieldVaultAbi, functionName: "withdraw", args: [amount] })
          : await viewer.writeContract({ address: vault, abi: yieldVaultAbi, functionName: "approveSpender", args: [dev.deployment.wallet, amount] })
      const receipt = await dev.publicClient.waitForTransactionReceipt({ hash })
      if (receipt.status !== "success") throw new Error(`the viewer's ${call} reverted`)
    })
  })

const metric = (name: string) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const text = yield* Effect.flatMap(http.get("/metrics"), (r) => r.text)
    const line = text.split("\n").find((l) => l.startsWith(`${name} `))
    return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1))
  })

const detailOf = (sessionId: SessionId, user: Address) =>
  Effect.flatMap(apiClient, (client) => client.session.get({ path: { sessionId }, urlParams: { userAddress: user } }))

const balanceOf = (user: Address) => getJson(`/api/user/${user}/balance`)

describe("refused settlements: which are debts", () => {
  const revertNames = fc.oneof(
    fc.constantFrom(...DEBT_REVERTS, "ContentNotListed", "AlreadySettled", "EnforcedPause", "AmountExceedsPrice", "ZeroAmount", "execution reverted"),
    fc.string()
  )
  it.prop("the vault's lack of funds or allowance makes a debt, any other revert ends FAILED", { name: revertNames }, ({ name }) => {
    expect(refusalOutcome("PENDING", name)).toBe(DEBT_REVERTS.includes(name) ? "DEBT" : "FAILED")
    // once owed, a later refusal of any kind (delisted content, a pause) keeps it owed
    expect(refusalOutcome("DEBT", name)).toBe("DEBT")
  })

  it("exactly InsufficientBalance and InsufficientAllowance are debts", () => {
    expect([...DEBT_REVERTS].sort()).toEqual(["InsufficientAllowance", "InsufficientBalance"])
  })
})

describe("debts", () => {
  // the reconciler is driven by hand below; stops that arrive within 300 ms go out in one settleBatch
  it.layer(TestApp({ RECONCILE_INTERVAL: "24 hours", SESSION_MAX_IDLE: "24 hours", SETTLEMENT_BATCH: "on", SETTLEMENT_BATCH_WINDOW: "300 millis" }), {
    timeout: 180_000
  })((it) => {
    it.effect("a viewer who empties the vault mid-session owes the session: 402 on start until the reconciler settles it, once", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const chain = yield* Chain
        const time = yield* TimeTravel
        const outbox = yield* SettlementOutbox
        const creator = toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")
        const user = yield* fundedViewer({ principal: 20n * USDC })
        const debtsBefore = yield* metric("payg_settlement_debts_total")
        const paidBefore = yield* metric("payg_settlement_debts_paid_total")

        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("intro-to-defi") } })
        const sessionId = s.data.sessionId
        const key = BigInt(s.data.settlementKey)
        yield* time.advance("36 minutes") // 2160 s of 3600 -> 6 USDC
        yield* asViewer(user, "withdraw", 20n * USDC)
        const earningsBefore = yield* dev.earningsOf(creator)

        const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: user })
        expect(stopped.status).toBe(200)
        expect(stopped.body).toMatchObject({
          data: { sessionId, status: "unpaid", finalCost: "6000000", payment: null, failureReason: expect.stringContaining("InsufficientBalance") }
        })
        const detail = yield* detailOf(sessionId, user)
        expect(detail.data).toMatchObject({ status: "UNPAID", finalCost: 6_000_000n, payment: null, failureReason: expect.stringContaining("InsufficientBalance") })
        const history = yield* client.session.history({ path: { userAddress: user }, urlParams: {} })
        expect(history.data.find((h) => h.sessionId === sessionId)).toMatchObject({ status: "UNPAID", finalCost: 6_000_000n })

        const owing = yield* balanceOf(user)
        expect(owing.body).toMatchObject({
          data: { totalBalance: "0", reserved: "0", debt: "6000000", spendable: "0", formatted: { debt: "6.00 USDC", spendable: "0.00 USDC" } }
        })
        expect((yield* metric("payg_settlement_debts_total")) - debtsBefore).toBe(1)

        // nothing was charged, and nobody can start anything while the debt stands, even with money back short of it
        expect(yield* settlementsOnChain(key)).toHaveLength(0)
        expect((yield* dev.earningsOf(creator)) - earningsBefore).toBe(0n)
        const refused = yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })
        expect(refused.status).toBe(402)
        expect(refused.body).toEqual(seedErrorBody(402, "Payment Required"))
        expect(refused.body).toMatchObject({ message: expect.stringContaining("6.00 USDC") })

        // the reconciler sends nothing while the viewer still cannot pay
        yield* dev.fund(user, { principal: 5n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
        const sentBefore = yield* metric("payg_settlements_sent_total")
        const broke = yield* outbox.reconcile(0)
        expect(broke.debts).toBeGreaterThanOrEqual(1)
        expect((yield* metric("payg_settlements_sent_total")) - sentBefore).toBe(0)
        expect(yield* settlementsOnChain(key)).toHaveLength(0)
        expect((yield* detailOf(sessionId, user)).data.status).toBe("UNPAID")
        expect((yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })).status).toBe(402)

        // funds return: the next pass settles the debt with the same key, exactly once
        yield* dev.fund(user, { principal: 15n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
        yield* outbox.reconcile(0)
        const paid = yield* detailOf(sessionId, user)
        expect(paid.data).toMatchObject({ status: "COMPLETED", finalCost: 6_000_000n, failureReason: null, payment: { fromYield: 0n, fromPrincipal: 6_000_000n } })
        const events = yield* settlementsOnChain(key)
        expect(events).toHaveLength(1)
        expect(events[0]?.args).toMatchObject({ user: expect.stringMatching(new RegExp(user, "i")), amount: 6_000_000n })
        expect(yield* chain.balancesOf(user)).toEqual({ yieldBalance: 0n, principal: 14n * USDC })
        expect((yield* dev.earningsOf(creator)) - earningsBefore).toBe(6_000_000n)
        expect((yield* metric("payg_settlement_debts_paid_total")) - paidBefore).toBe(1)
        yield* outbox.reconcile(0)
        expect(yield* settlementsOnChain(key)).toHaveLength(1)

        const cleared = yield* balanceOf(user)
        expect(cleared.body).toMatchObject({ data: { debt: "0", spendable: "14000000", formatted: { debt: "0.00 USDC" } } })
        const again = yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })
        expect(again.status).toBe(201)
      }))

    it.effect("a viewer who revokes the allowance owes the session; the debt outlives a delisting and is paid once the content is listed again", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const chain = yield* Chain
        const time = yield* TimeTravel
        const outbox = yield* SettlementOutbox
        const user = yield* fundedViewer({ principal: 50n * USDC })
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid("nft-art-stories") } })
        const sessionId = s.data.sessionId
        const key = BigInt(s.data.settlementKey)
        yield* time.advance("5 minutes") // 300 s of 900 -> 1 USDC
        yield* asViewer(user, "approve", 0n)

        const stopped = yield* client.session.stop({ payload: { sessionId, userAddress: user } })
        expect(stopped.data).toMatchObject({ status: "unpaid", finalCost: 1_000_000n, payment: null, failureReason: expect.stringContaining("InsufficientAllowance") })
        expect((yield* balanceOf(user)).body).toMatchObject({ data: { totalBalance: "50000000", debt: "1000000", spendable: "49000000" } })
        const refused = yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })
        expect(refused.status).toBe(402)
        expect(refused.body).toMatchObject({ message: expect.stringContaining("1.00 USDC") })

        // the allowance returns while the content is delisted: the chain refuses, the debt stays on record
        yield* asViewer(user, "approve", 1_000n * USDC)
        yield* dev.delist("nft-art-stories")
        yield* outbox
          .reconcile(0)
          .pipe(Effect.ensuring(dev.list("nft-art-stories", { price: 3n * USDC, duration: 900n, creator: toAddress("0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f") })))
        expect((yield* detailOf(sessionId, user)).data).toMatchObject({ status: "UNPAID", failureReason: expect.stringContaining("ContentNotListed") })
        expect((yield* balanceOf(user)).body).toMatchObject({ data: { debt: "1000000" } })
        expect(yield* settlementsOnChain(key)).toHaveLength(0)

        // listed again: paid on the next pass
        yield* outbox.reconcile(0)
        expect((yield* detailOf(sessionId, user)).data).toMatchObject({ status: "COMPLETED", failureReason: null })
        expect(yield* settlementsOnChain(key)).toHaveLength(1)
        expect(yield* chain.balancesOf(user)).toEqual({ yieldBalance: 0n, principal: 49n * USDC })
        expect((yield* balanceOf(user)).body).toMatchObject({ data: { debt: "0" } })
        expect((yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })).status).toBe(201)
      }))

    it.effect("in a batch, the broke viewer's entry becomes a debt while the others are paid; the debt is settled later, once", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const time = yield* TimeTravel
        const outbox = yield* SettlementOutbox
        const viewers = yield* Effect.all([fundedViewer(), fundedViewer(), fundedViewer({ principal: 10n * USDC })])
        const started = yield* Effect.forEach(viewers, (user) => client.session.start({ payload: { userAddress: user, contentId: cid("yield-farming-101") } }))
        yield* time.advance("9 minutes") // 540 s of 1800 -> 1.5 USDC each
        const [userA, userB, broke] = viewers
        const [sessionA, sessionB, brokeSession] = started
        if (!userA || !userB || !broke || !sessionA || !sessionB || !brokeSession) throw new Error("three viewers expected")
        yield* asViewer(broke, "withdraw", 10n * USDC)

        const stops = yield* Effect.forEach(
          started,
          (s, i) => postJson("/api/session/stop", { sessionId: s.data.sessionId, userAddress: viewers[i] }),
          { concurrency: "unbounded" }
        )
        expect(stops.map((r) => r.status)).toEqual([200, 200, 200])
        expect(stops[0]?.body).toMatchObject({ data: { status: "completed", payment: { batchSize: 2 } } })
        expect(stops[1]?.body).toMatchObject({ data: { status: "completed", payment: { batchSize: 2 } } })
        expect(stops[2]?.body).toMatchObject({ data: { status: "unpaid", finalCost: "1500000", failureReason: expect.stringContaining("InsufficientBalance") } })
        const key = BigInt(brokeSession.data.settlementKey)
        // one transaction: two settled, the broke viewer's entry rejected in it
        const paidA = yield* detailOf(sessionA.data.sessionId, userA)
        const paidB = yield* detailOf(sessionB.data.sessionId, userB)
        expect(paidA.data.payment?.txHash).toBe(paidB.data.payment?.txHash)
        const rejected = yield* Effect.promise(() =>
          dev.publicClient.getContractEvents({ address: dev.deployment.wallet, abi: streamingWalletAbi, eventName: "SettlementRejected", args: { sessionKey: key }, fromBlock: 0n })
        )
        expect(rejected.map((e) => e.transactionHash)).toEqual([paidA.data.payment?.txHash])
        expect((yield* balanceOf(broke)).body).toMatchObject({ data: { debt: "1500000" } })
        expect((yield* postJson("/api/session/start", { userAddress: broke, contentId: "intro-to-defi" })).status).toBe(402)
        expect(yield* settlementsOnChain(key)).toHaveLength(0)

        yield* dev.fund(broke, { principal: 2n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
        yield* outbox.reconcile(0)
        yield* outbox.reconcile(0)
        expect((yield* detailOf(brokeSession.data.sessionId, broke)).data).toMatchObject({ status: "COMPLETED", payment: { fromPrincipal: 1_500_000n } })
        expect(yield* settlementsOnChain(key)).toHaveLength(1)
        expect((yield* balanceOf(broke)).body).toMatchObject({ data: { debt: "0", totalBalance: "500000" } })
      }))
  })
})
