import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts"
import { ChainOnDevChain, DevChain } from "../src/chain/ChainInProcess.js"
import { streamingWalletAbi } from "../src/chain/contracts.js"
import { ListingOutbox } from "../src/content/ListingOutbox.js"
import { Chain, contentKeyOf } from "../src/domain/Chain.js"
import { NoContentManager } from "../src/domain/errors.js"
import { TestAppWith } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { FlakyTestApp, whileChainDown } from "./support/flakyChain.js"
import { type Answer, TEST_JWT_SECRET, alice, bearer, get, postJson, signIn } from "./support/security.js"
import { USDC, fundedViewer, randomAddress, settlementsOnChain } from "./support/users.js"

/** An operator of these tests: a fresh key, listed in ADMIN_ADDRESSES. */
const operator = privateKeyToAccount(generatePrivateKey())
// tokens outlive the hours the session tests move the clock forward
const vars = { JWT_SECRET: TEST_JWT_SECRET, ADMIN_ADDRESSES: operator.address, JWT_TTL: "1 day" }

const creator = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"

/** A new item's body (a fresh contentId each time), with fields overridden. */
const newItem = (over: Record<string, unknown> = {}) => ({
  contentId: `item-${randomAddress().slice(2, 14)}`,
  title: "Sintel",
  description: "An open movie",
  fullPrice: "3600000",
  totalDuration: 3600,
  category: "Film",
  creatorAddress: creator,
  ...over
})

const onChain = (contentId: string) =>
  Effect.flatMap(DevChain, (dev) =>
    Effect.promise(() =>
      dev.publicClient.readContract({ address: dev.deployment.wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [contentKeyOf(contentId)] })
    )
  ).pipe(Effect.map(([creator, price, duration, listed]) => ({ creator: creator.toLowerCase(), price, duration, listed })))

const data = (answer: Answer): Record<string, unknown> => {
  const body = answer.body
  if (typeof body !== "object" || body === null || !("data" in body)) throw new Error(`not an envelope: ${answer.status} ${JSON.stringify(body)}`)
  const d: unknown = body.data
  if (typeof d !== "object" || d === null) throw new Error("no data")
  return Object.fromEntries(Object.entries(d))
}

const outboxRows = (contentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly done: boolean }>`SELECT done_at IS NOT NULL AS done FROM content_listing_outbox WHERE content_id = ${contentId}`)

describe("catalogue management through the API (operators signed in with Ethereum)", () => {
  layer(Layer.fresh(TestAppWith(ChainOnDevChain, vars)), { timeout: 180_000, excludeTestServices: true })((it) => {
    it.effect("without a token 401, with a viewer's token 403, and nothing changes", () =>
      Effect.gen(function* () {
        const item = newItem()
        const anonymous = yield* postJson("/api/admin/content", item)
        expect(anonymous.status).toBe(401)
        expect(anonymous.body).toMatchObject({ error: "Unauthorized", statusCode: 401 })
        const viewer = yield* postJson("/api/admin/content", item, bearer(yield* signIn(alice)))
        expect(viewer.status).toBe(403)
        expect(viewer.body).toMatchObject({ error: "Forbidden", statusCode: 403, message: expect.stringContaining("not an operator") })
        const delist = yield* postJson("/api/admin/content/intro-to-defi/delist", {}, bearer(yield* signIn(alice)))
        expect(delist.status).toBe(403)
        expect((yield* get(`/api/content/${item.contentId}`)).status).toBe(404)
        expect((yield* onChain("intro-to-defi")).listed).toBe(true)
      }))

    it.effect("bad input is the seed's 400 naming the field, and nothing is stored or listed", () =>
      Effect.gen(function* () {
        const token = yield* signIn(operator)
        const cases: ReadonlyArray<readonly [Record<string, unknown>, RegExp]> = [
          [newItem({ fullPrice: "0" }), /fullPrice/],
          [newItem({ fullPrice: (2n ** 88n).toString() }), /fullPrice/],
          [newItem({ totalDuration: 0 }), /totalDuration/],
          [newItem({ creatorAddress: "0x1234" }), /creatorAddress/],
          [newItem({ creatorAddress: `0x${"0".repeat(40)}` }), /creatorAddress/],
          [newItem({ contentId: "no spaces allowed" }), /contentId/],
          [newItem({ extra: true }), /extra is not a field/]
        ]
        for (const [body, field] of cases) {
          const answer = yield* postJson("/api/admin/content", body, bearer(token))
          expect(answer.status, JSON.stringify(body)).toBe(400)
          expect(answer.body).toMatchObject({ error: "Bad Request", statusCode: 400, message: expect.stringMatching(field) })
          expect((yield* onChain(String(body["contentId"]))).listed).toBe(false)
        }
        const empty = yield* postJson("/api/admin/content/intro-to-defi", {}, bearer(token))
        expect(empty.status).toBe(400)
        const negative = yield* postJson("/api/admin/content/intro-to-defi", { fullPrice: "-5" }, bearer(token))
        expect(negative.status).toBe(400)
        const unknownField = yield* postJson("/api/admin/content/intro-to-defi", { fullPrice: "5", isActive: false }, bearer(token))
        expect(unknownField.status).toBe(400)
        expect((yield* onChain("intro-to-defi")).price).toBe(10_000_000n)
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT 1 FROM content_listing_outbox`).toHaveLength(0)
      }))

    it.effect("create, update, delist and activate: each visible in GET /api/content and on chain", () =>
      Effect.gen(function* () {
        const token = yield* signIn(operator)
        const item = newItem()
        const created = yield* postJson("/api/admin/content", item, bearer(token))
        expect(created.status).toBe(201)
        expect(data(created)).toMatchObject({ contentId: item.contentId, fullPrice: "3600000", isActive: true, listing: { state: "synced", reason: null } })
        expect(yield* onChain(item.contentId)).toEqual({ creator: creator.toLowerCase(), price: 3_600_000n, duration: 3600n, listed: true })
        const detail = yield* get(`/api/content/${item.contentId}`)
        expect(data(detail)).toMatchObject({ fullPrice: "3600000", blockchain: { available: true, isListed: true, priceMatches: true, durationMatches: true } })
        const again = yield* postJson("/api/admin/content", item, bearer(token))
        expect(again.status).toBe(409)

        const newCreator = randomAddress()
        const updated = yield* postJson(`/api/admin/content/${item.contentId}`, { fullPrice: "7200000", totalDuration: 1800, creatorAddress: newCreator }, bearer(token))
        expect(updated.status).toBe(200)
        expect(data(updated)).toMatchObject({ fullPrice: "7200000", totalDuration: 1800, creatorAddress: newCreator, listing: { state: "synced" } })
        expect(yield* onChain(item.contentId)).toEqual({ creator: newCreator, price: 7_200_000n, duration: 1800n, listed: true })
        expect(data(yield* get(`/api/content/${item.contentId}`))).toMatchObject({ fullPrice: "7200000", blockchain: { priceMatches: true } })

        const delisted = yield* postJson(`/api/admin/content/${item.contentId}/delist`, {}, bearer(token))
        expect(data(delisted)).toMatchObject({ isActive: false, listing: { state: "synced" } })
        expect((yield* onChain(item.contentId)).listed).toBe(false)
        expect((yield* get(`/api/content/${item.contentId}`)).status).toBe(404)

        const activated = yield* postJson(`/api/admin/content/${item.contentId}/activate`, {}, bearer(token))
        expect(data(activated)).toMatchObject({ isActive: true, listing: { state: "synced" } })
        expect(yield* onChain(item.contentId)).toEqual({ creator: newCreator, price: 7_200_000n, duration: 1800n, listed: true })
        expect((yield* get(`/api/content/${item.contentId}`)).status).toBe(200)
        expect((yield* outboxRows(item.contentId)).every((r) => r.done)).toBe(true)

        const unknown = yield* postJson("/api/admin/content/no-such-item/activate", {}, bearer(token))
        expect(unknown.status).toBe(404)
      }))

    it.effect("a create retried with its Idempotency-Key is answered once: the same 201, one row", () =>
      Effect.gen(function* () {
        const token = yield* signIn(operator)
        const item = newItem()
        const headers = { ...bearer(token), "idempotency-key": `create-${item.contentId}` }
        const first = yield* postJson("/api/admin/content", item, headers)
        const second = yield* postJson("/api/admin/content", item, headers)
        expect(first.status).toBe(201)
        expect(second.status).toBe(201)
        expect(second.headers["idempotent-replayed"]).toBe("true")
        expect(second.body).toEqual(first.body)
        expect(yield* outboxRows(item.contentId)).toHaveLength(1)
      }))

    it.effect("a price raised during a session: the session is charged the price it started with, and settles on chain", () =>
      Effect.flatMap(TimeTravel, (time) =>
        time.frozen(
          Effect.gen(function* () {
            const token = yield* signIn(operator)
            const item = newItem({ fullPrice: "3600000", totalDuration: 3600 })
            expect((yield* postJson("/api/admin/content", item, bearer(token))).status).toBe(201)
            const viewer = yield* fundedViewer({ principal: 100n * USDC })
            const started = yield* postJson("/api/session/start", { userAddress: viewer, contentId: item.contentId })
            expect(started.status).toBe(201)
            const sessionId = String(data(started)["sessionId"])
            yield* time.advance("30 minutes")

            const raised = yield* postJson(`/api/admin/content/${item.contentId}`, { fullPrice: "7200000" }, bearer(token))
            expect(data(raised)).toMatchObject({ fullPrice: "7200000", listing: { state: "synced" } })
            expect((yield* onChain(item.contentId)).price).toBe(7_200_000n)

            const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: viewer })
            expect(data(stopped)).toMatchObject({ status: "completed", finalCost: "1800000" })
            const detail = yield* get(`/api/session/${sessionId}?userAddress=${viewer}`)
            const events = yield* settlementsOnChain(BigInt(String(data(detail)["settlementKey"])))
            expect(events.map((e) => e.args.amount)).toEqual([1_800_000n])

            // a session started after the change is priced at the new terms
            const next = yield* postJson("/api/session/start", { userAddress: viewer, contentId: item.contentId })
            expect(data(next)).toMatchObject({ estimatedCost: "7200000" })
          })
        )
      ))

    it.effect("a price lowered under an open session waits on chain until it settles; new sessions are refused meanwhile", () =>
      Effect.flatMap(TimeTravel, (time) =>
        time.frozen(
          Effect.gen(function* () {
            const token = yield* signIn(operator)
            const outbox = yield* ListingOutbox
            const item = newItem({ fullPrice: "3600000", totalDuration: 3600 })
            expect((yield* postJson("/api/admin/content", item, bearer(token))).status).toBe(201)
            const viewer = yield* fundedViewer({ principal: 100n * USDC })
            const started = yield* postJson("/api/session/start", { userAddress: viewer, contentId: item.contentId })
            const sessionId = String(data(started)["sessionId"])
            yield* time.advance("2 hours")

            const lowered = yield* postJson(`/api/admin/content/${item.contentId}`, { fullPrice: "1000000" }, bearer(token))
            expect(data(lowered)).toMatchObject({ fullPrice: "1000000", listing: { state: "pending", reason: expect.stringContaining("1 session(s)") } })
            // the chain keeps the old price, so the open session's full charge is still within it
            expect((yield* onChain(item.contentId)).price).toBe(3_600_000n)
            const other = yield* fundedViewer({ principal: 100n * USDC })
            const refused = yield* postJson("/api/session/start", { userAddress: other, contentId: item.contentId })
            expect(refused.status).toBe(400)
            expect(refused.body).toMatchObject({ message: expect.stringContaining("differs from the catalogue price") })

            const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: viewer })
            expect(data(stopped)).toMatchObject({ status: "completed", finalCost: "3600000" })

            expect(yield* outbox.reconcile).toMatchObject({ pending: 0 })
            expect((yield* onChain(item.contentId)).price).toBe(1_000_000n)
            const now = yield* postJson("/api/session/start", { userAddress: other, contentId: item.contentId })
            expect(data(now)).toMatchObject({ estimatedCost: "1000000" })
          })
        )
      ))
  })
})

describe("a crash between the database and the chain", () => {
  layer(Layer.fresh(FlakyTestApp(vars)), { timeout: 180_000, excludeTestServices: true })((it) => {
    it.effect("a change written while the chain is unreachable is pending, and the reconciler lists it: database and chain agree", () =>
      Effect.gen(function* () {
        const token = yield* signIn(operator)
        const outbox = yield* ListingOutbox
        const item = newItem({ fullPrice: "2500000" })
        const created = yield* whileChainDown(postJson("/api/admin/content", item, bearer(token)))
        expect(created.status).toBe(201)
        expect(data(created)).toMatchObject({ listing: { state: "pending", reason: expect.stringContaining("unavailable") } })
        expect((yield* onChain(item.contentId)).listed).toBe(false)
        expect(yield* outboxRows(item.contentId)).toEqual([{ done: false }])
        // not sellable while the chain does not list it
        const viewer = yield* fundedViewer({ principal: 100n * USDC })
        expect((yield* postJson("/api/session/start", { userAddress: viewer, contentId: item.contentId })).status).toBe(400)

        const updated = yield* whileChainDown(postJson(`/api/admin/content/${item.contentId}`, { fullPrice: "3000000" }, bearer(token)))
        expect(data(updated)).toMatchObject({ fullPrice: "3000000", listing: { state: "pending" } })

        expect(yield* outbox.reconcile).toMatchObject({ pending: 0 })
        expect(yield* onChain(item.contentId)).toEqual({ creator: creator.toLowerCase(), price: 3_000_000n, duration: 3600n, listed: true })
        expect(data(yield* get(`/api/content/${item.contentId}`))).toMatchObject({ fullPrice: "3000000", blockchain: { isListed: true, priceMatches: true } })
        expect((yield* outboxRows(item.contentId)).every((r) => r.done)).toBe(true)
        expect((yield* postJson("/api/session/start", { userAddress: viewer, contentId: item.contentId })).status).toBe(201)
      }))
  })
})

/** The in-process chain without a content-manager key (an RPC deployment without CONTENT_MANAGER_KEY). */
const ChainWithoutManager = Layer.effect(
  Chain,
  Effect.map(Chain, (chain) =>
    Chain.of({
      ...chain,
      contentManager: Option.none(),
      listContent: () => Effect.fail(new NoContentManager()),
      updateContent: () => Effect.fail(new NoContentManager()),
      delistContent: () => Effect.fail(new NoContentManager())
    })
  )
).pipe(Layer.provide(ChainOnDevChain))

describe("without a content-manager key", () => {
  layer(Layer.fresh(TestAppWith(ChainWithoutManager, vars)), { timeout: 180_000, excludeTestServices: true })((it) => {
    it.effect("every change is 503 with a clear message, and nothing is stored", () =>
      Effect.gen(function* () {
        const token = yield* signIn(operator)
        const item = newItem()
        const created = yield* postJson("/api/admin/content", item, bearer(token))
        expect(created.status).toBe(503)
        expect(created.body).toMatchObject({ error: "Service Unavailable", message: expect.stringContaining("CONTENT_MANAGER_KEY") })
        const delisted = yield* postJson("/api/admin/content/intro-to-defi/delist", {}, bearer(token))
        expect(delisted.status).toBe(503)
        expect((yield* get(`/api/content/${item.contentId}`)).status).toBe(404)
        expect((yield* get("/api/content/intro-to-defi")).status).toBe(200)
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT 1 FROM content_listing_outbox`).toHaveLength(0)
      }))
  })
})
