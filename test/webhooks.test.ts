import { FetchHttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { createWalletClient } from "viem"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { yieldVaultAbi } from "../src/chain/contracts.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { ContentId } from "../src/domain/Content.js"
import { SettlementOutbox } from "../src/session/SettlementOutbox.js"
import { backoffMs } from "../src/webhooks/events.js"
import { signWebhook, verifyWebhook } from "../src/webhooks/signature.js"
import { makeWebhooks, settingsFromConfig } from "../src/webhooks/Webhooks.js"
import { TestApp, apiClient, configFrom } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { USDC, fundedViewer } from "./support/users.js"
import { type Delivery, RECEIVER_SECRET, WebhookReceiver, WebhookReceiverLive, eventually } from "./support/webhookReceiver.js"

const cid = (id: string) => ContentId.make(id)

describe("webhook signatures", () => {
  const secret = "whsec_unit_0123456789abcdef"
  const body = JSON.stringify({ id: "evt_1", type: "session.completed" })
  const t = 1_767_225_600

  it("a signature made with the secret verifies; the tolerance bounds its age", () => {
    const header = signWebhook(secret, t, body)
    expect(header).toMatch(/^t=1767225600,v1=[0-9a-f]{64}$/)
    expect(verifyWebhook(secret, header, body, 300, t + 299)).toEqual({ valid: true, timestamp: t })
    expect(verifyWebhook(secret, header, body, 300, t + 301)).toMatchObject({ valid: false, reason: expect.stringContaining("tolerance") })
    // a second v1 (a receiver during a secret rotation) is enough when one matches
    expect(verifyWebhook(secret, `${header},v1=${"0".repeat(64)}`, body, 300, t)).toMatchObject({ valid: true })
  })

  it("another secret, another body, another timestamp or a malformed header do not verify", () => {
    const header = signWebhook(secret, t, body)
    expect(verifyWebhook("whsec_other_0123456789abcdef", header, body, 300, t).valid).toBe(false)
    expect(verifyWebhook(secret, header, body.replace("completed", "failed"), 300, t).valid).toBe(false)
    expect(verifyWebhook(secret, header.replace(`t=${t}`, `t=${t + 1}`), body, 300, t).valid).toBe(false)
    for (const bad of [undefined, null, "", "v1=abc", `t=${t}`, `t=x,v1=${"a".repeat(64)}`, `t=${t},t=${t},v1=${"a".repeat(64)}`, `t=${t},v1=zz`]) {
      expect(verifyWebhook(secret, bad, body, 300, t).valid).toBe(false)
    }
  })

  it("the backoff doubles from the base and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 1_000, 10_000))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
    expect(backoffMs(10_000, 1_000, 3_600_000)).toBe(3_600_000)
  })
})

describe("webhook settings", () => {
  const read = (vars: Record<string, string>) => settingsFromConfig.pipe(Effect.provide(configFrom(vars)), Effect.either)

  it.effect("unset WEBHOOK_URL: no webhooks; with it, WEBHOOK_SECRET is required and the rest has defaults", () =>
    Effect.gen(function* () {
      expect(yield* read({})).toMatchObject({ _tag: "Right", right: { _tag: "None" } })
      expect(yield* read({ WEBHOOK_URL: "https://hooks.example/payg" })).toMatchObject({
        _tag: "Left",
        left: { _tag: "StartupError", reason: expect.stringContaining("WEBHOOK_SECRET is required") }
      })
      const ok = yield* read({ WEBHOOK_URL: "https://hooks.example/payg", WEBHOOK_SECRET: RECEIVER_SECRET })
      expect(ok).toMatchObject({ _tag: "Right", right: { _tag: "Some", value: { url: "https://hooks.example/payg", maxAttempts: 12 } } })
      // the secret stays redacted
      expect(JSON.stringify(ok)).not.toContain(RECEIVER_SECRET)
    }))

  it.effect("a WEBHOOK_URL that is not http(s) or a short WEBHOOK_SECRET is a configuration error naming the variable", () =>
    Effect.gen(function* () {
      const badUrl = yield* Effect.either(configFrom({ WEBHOOK_URL: "ftp://hooks.example" }).pipe(Layer.build, Effect.scoped))
      expect(String(badUrl._tag === "Left" ? badUrl.left : "")).toContain("WEBHOOK_URL")
      const shortSecret = yield* Effect.either(configFrom({ WEBHOOK_URL: "https://h.example", WEBHOOK_SECRET: "short" }).pipe(Layer.build, Effect.scoped))
      expect(String(shortSecret._tag === "Left" ? shortSecret.left : "")).toContain("WEBHOOK_SECRET")
    }))
})

/** The viewer's own vault withdrawal (impersonated on the development chain). */
const withdrawAll = (user: Address, amount: bigint) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const viewer = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: user })
    yield* Effect.promise(async () => {
      const hash = await viewer.writeContract({ address: dev.deployment.vault, abi: yieldVaultAbi, functionName: "withdraw", args: [amount] })
      await dev.publicClient.waitForTransactionReceipt({ hash })
    })
  })

const settings = {
  WEBHOOK_SECRET: RECEIVER_SECRET,
  WEBHOOK_INTERVAL: "100 millis",
  WEBHOOK_BACKOFF: "200 millis",
  WEBHOOK_BACKOFF_MAX: "1 second",
  WEBHOOK_MAX_ATTEMPTS: "4",
  WEBHOOK_TIMEOUT: "5 seconds",
  RECONCILE_INTERVAL: "24 hours",
  SESSION_MAX_IDLE: "24 hours"
}

/** The app with WEBHOOK_URL at the test's receiver. */
const App = Layer.unwrapEffect(Effect.map(WebhookReceiver, (r) => TestApp({ ...settings, WEBHOOK_URL: r.url }))).pipe(Layer.provideMerge(WebhookReceiverLive))

const accepted = (ds: ReadonlyArray<Delivery>) => ds.filter((d) => d.answer === 200)
/** What a receiver keeps after deduplicating by event id: one entry per id. */
const dedup = (ds: ReadonlyArray<Delivery>) => [...new Map(accepted(ds).map((d) => [d.eventId, d])).values()]

describe("settlement webhooks", () => {
  it.layer(App, { timeout: 180_000 })((it) => {
    it.effect("completed, debt, failed: each event delivered at least once through a 500 and a dropped connection, signed, one id per session and type", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const dev = yield* DevChain
        const time = yield* TimeTravel
        const outbox = yield* SettlementOutbox
        const receiver = yield* WebhookReceiver
        receiver.setClock(() => Date.now() + time.offsetMs())

        const paying = yield* fundedViewer()
        const broke = yield* fundedViewer({ principal: 20n * USDC })
        const failing = yield* fundedViewer()
        const a = yield* client.session.start({ payload: { userAddress: paying, contentId: cid("intro-to-defi") } })
        const b = yield* client.session.start({ payload: { userAddress: broke, contentId: cid("intro-to-defi") } })
        const c = yield* client.session.start({ payload: { userAddress: failing, contentId: cid("nft-art-stories") } })
        yield* time.advance("6 minutes")

        const paid = yield* client.session.stop({ payload: { sessionId: a.data.sessionId, userAddress: paying } })
        expect(paid.data.status).toBe("completed")
        yield* withdrawAll(broke, 20n * USDC)
        const owed = yield* client.session.stop({ payload: { sessionId: b.data.sessionId, userAddress: broke } })
        expect(owed.data.status).toBe("unpaid")
        yield* dev.delist("nft-art-stories")
        const failed = yield* client.session
          .stop({ payload: { sessionId: c.data.sessionId, userAddress: failing } })
          .pipe(Effect.ensuring(dev.list("nft-art-stories", { price: 3n * USDC, duration: 900n, creator: toAddress("0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f") })))
        expect(failed.data.status).toBe("failed")
        // six minutes of the clock plus the real time the test itself took (a second more under load)
        const paidCost = String(paid.data.finalCost)
        const owedCost = String(owed.data.finalCost)
        for (const cost of [paidCost, owedCost]) {
          expect(BigInt(cost)).toBeGreaterThanOrEqual(1_000_000n)
          expect(BigInt(cost)).toBeLessThan(1_000_000n + 30n * 2_777n)
        }

        const expected = [
          `${a.data.sessionId} session.completed`,
          `${b.data.sessionId} session.debt`,
          `${c.data.sessionId} session.failed`
        ].sort()
        const keys = () => dedup(receiver.deliveries).map((d) => `${d.sessionId} ${d.type}`).sort()
        yield* eventually(() => keys().length >= 3)

        // the receiver's first answer was a 500 and its second a dropped connection: both were retried
        expect(receiver.deliveries[0]?.answer).toBe(500)
        expect(receiver.deliveries[1]?.answer).toBe("dropped")
        const retried = [receiver.deliveries[0]?.eventId, receiver.deliveries[1]?.eventId]
        for (const id of retried) expect(accepted(receiver.deliveries).map((d) => d.eventId)).toContain(id)
        // a retry is the same event, byte for byte: the same id and body
        for (const id of retried) expect(new Set(receiver.deliveries.filter((d) => d.eventId === id).map((d) => d.body)).size).toBe(1)
        expect(keys()).toEqual(expected)
        for (const d of receiver.deliveries) expect(d.verification, d.body).toMatchObject({ valid: true })

        const completed = dedup(receiver.deliveries).find((d) => d.type === "session.completed")
        expect(JSON.parse(completed?.body ?? "{}")).toMatchObject({
          id: expect.stringMatching(/^evt_[0-9a-f]{24}$/),
          type: "session.completed",
          created: expect.any(Number),
          createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          data: {
            session: { sessionId: a.data.sessionId, status: "COMPLETED", userAddress: expect.stringMatching(new RegExp(`^${paying}$`, "i")), contentId: "intro-to-defi", finalCost: paidCost },
            payment: { mode: "operator", status: "CONFIRMED", amount: paidCost, txHash: paid.data.payment?.txHash, fromYield: "0", fromPrincipal: paidCost }
          }
        })
        const debt = dedup(receiver.deliveries).find((d) => d.type === "session.debt")
        expect(JSON.parse(debt?.body ?? "{}")).toMatchObject({
          data: { session: { status: "UNPAID", finalCost: owedCost }, payment: { status: "DEBT", amount: owedCost, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), failureReason: expect.stringContaining("InsufficientBalance") } }
        })
        const failure = dedup(receiver.deliveries).find((d) => d.type === "session.failed")
        expect(JSON.parse(failure?.body ?? "{}")).toMatchObject({
          data: { session: { status: "FAILED", failureReason: expect.stringContaining("ContentNotListed") }, payment: { status: "FAILED" } }
        })

        // the debt is paid later: its session now also has its completed event (a new id), and nothing is sent twice
        yield* dev.fund(broke, { principal: 5n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
        yield* outbox.reconcile(0)
        yield* eventually(() => keys().length >= 4)
        yield* Effect.sleep(Duration.millis(500))
        expect(keys()).toEqual([...expected, `${b.data.sessionId} session.completed`].sort())
        const ids = accepted(receiver.deliveries).map((d) => d.eventId)
        expect(new Set(ids).size).toBe(ids.length)

        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly status: string; readonly n: number }>`SELECT status, count(*)::int AS n FROM webhook_events GROUP BY status`
        expect(rows).toEqual([{ status: "DELIVERED", n: 4 }])
      }))

    it.effect("a receiver that keeps failing: retried with backoff, then given up after WEBHOOK_MAX_ATTEMPTS with the reason", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const receiver = yield* WebhookReceiver
        const refused = yield* fundedViewer()
        receiver.refuse.add(refused)
        const s = yield* client.session.start({ payload: { userAddress: refused, contentId: cid("yield-farming-101") } })
        yield* time.advance("3 minutes")
        yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: refused } })

        const sql = yield* SqlClient.SqlClient
        const row = () =>
          sql<{ readonly status: string; readonly attempts: number; readonly lastError: string | null }>`
            SELECT status, attempts, last_error AS "lastError" FROM webhook_events WHERE session_id = ${s.data.sessionId}`
        yield* row().pipe(
          Effect.flatMap((rows) => (rows[0]?.status === "GAVE_UP" ? Effect.void : Effect.fail("not yet"))),
          Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(60)))),
          Effect.orDie
        )
        expect(yield* row()).toEqual([{ status: "GAVE_UP", attempts: 4, lastError: "gave up after 4 attempts: HTTP 500" }])
        const tries = receiver.deliveries.filter((d) => d.sessionId === s.data.sessionId)
        expect(tries.map((d) => d.answer)).toEqual([500, 500, 500, 500])
        expect(new Set(tries.map((d) => d.eventId)).size).toBe(1)
      }))

    it.effect("several dispatchers at once (as several instances): every event is delivered once, none twice", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const receiver = yield* WebhookReceiver
        const others = yield* Effect.forEach([0, 1, 2], () =>
          makeWebhooks({
            url: receiver.url,
            secret: Redacted.make(RECEIVER_SECRET),
            timeout: Duration.seconds(5),
            maxAttempts: 4,
            backoff: Duration.millis(200),
            backoffMax: Duration.seconds(1)
          }).pipe(Effect.provide(FetchHttpClient.layer))
        )
        const viewers = yield* Effect.forEach([0, 1, 2, 3, 4], () => fundedViewer())
        const started = yield* Effect.forEach(viewers, (user) =>
          Effect.map(client.session.start({ payload: { userAddress: user, contentId: cid("inside-the-evm") } }), (s) => ({ user, sessionId: s.data.sessionId }))
        )
        yield* time.advance("2 minutes")
        yield* Effect.forEach(started, (s) => client.session.stop({ payload: { sessionId: s.sessionId, userAddress: s.user } }), { concurrency: "unbounded" })
        // three more dispatchers race the background one
        yield* Effect.forEach(others, (w) => Effect.repeatN(w.dispatch, 5), { concurrency: "unbounded" })
        const ours = () => accepted(receiver.deliveries).filter((d) => started.some((s) => s.sessionId === d.sessionId))
        yield* eventually(() => ours().length >= 5)
        yield* Effect.sleep(Duration.millis(500))
        expect(ours()).toHaveLength(5)
        expect(new Set(ours().map((d) => d.sessionId)).size).toBe(5)
      }))
  })
})
