import { HttpClient, HttpClientResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { demoCatalogue } from "../src/content/catalogue.js"
import { toAddress } from "../src/domain/Address.js"
import { ContentId } from "../src/domain/Content.js"
import { apiClient } from "./support/app.js"
import { FlakyTestApp, whileChainDown } from "./support/flakyChain.js"
import { getJson, isoTimestamp, seedErrorBody } from "./support/http.js"

/** The seed's example item, exactly as API.md documents it. */
const introToDefi = {
  id: "clp123456789",
  contentId: "intro-to-defi",
  title: "Introduction to DeFi",
  description: "Learn the basics of Decentralized Finance",
  fullPrice: "10000000",
  totalDuration: 3600,
  category: "Education",
  thumbnailUrl: "https://example.com/thumb1.jpg",
  isActive: true,
  createdAt: "2023-11-01T10:00:00.000Z"
}

const ids = (body: unknown): ReadonlyArray<string> => {
  if (typeof body !== "object" || body === null || !("data" in body) || !Array.isArray(body.data)) throw new Error("no data array")
  return body.data.map((item: unknown) => (typeof item === "object" && item !== null && "contentId" in item ? String(item.contentId) : "?"))
}

const OpenApiShape = Schema.Struct({
  paths: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  components: Schema.Struct({ schemas: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })
})

const nextCursorOf = (body: unknown): string => {
  if (typeof body === "object" && body !== null && "nextCursor" in body && typeof body.nextCursor === "string") return body.nextCursor
  throw new Error("no nextCursor")
}

const insertContent = (row: {
  readonly id: string
  readonly contentId: string
  readonly category: string
  readonly isActive: boolean
  readonly createdAt: string
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO content (id, content_id, title, description, full_price, total_duration, category, thumbnail_url, is_active, creator_address, created_at)
      VALUES (${row.id}, ${row.contentId}, ${`Title of ${row.contentId}`}, '', 1000000, 600, ${row.category}, NULL, ${row.isActive},
              '0x976ea74026e726554db657fa54763abd0c3a0aa9', ${row.createdAt}::timestamptz)`
  )

describe("content API", () => {
  it.layer(FlakyTestApp(), { timeout: 120_000 })((it) => {
    it.effect("GET /api/content lists the active catalogue, oldest first, with exactly the seed's fields", () =>
      Effect.gen(function* () {
        const { body, status } = yield* getJson("/api/content")
        expect(status).toBe(200)
        expect(body).toEqual({
          success: true,
          data: expect.any(Array),
          nextCursor: null,
          timestamp: isoTimestamp
        })
        expect(ids(body)).toEqual(demoCatalogue.map((c) => c.contentId))
        if (typeof body !== "object" || body === null || !("data" in body) || !Array.isArray(body.data)) throw new Error("no data")
        expect(body.data[0]).toStrictEqual(introToDefi)
      }))

    it.effect("the typed client decodes the list", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const page = yield* client.content.list({ urlParams: {} })
        expect(page.data).toHaveLength(demoCatalogue.length)
        expect(page.data[2]?.fullPrice).toBe(25_000_000n)
        expect(page.data[2]?.createdAt).toEqual(new Date("2023-11-03T10:00:00.000Z"))
        expect(page.nextCursor).toBeNull()
      }))

    it.effect("?category= filters, exactly", () =>
      Effect.gen(function* () {
        expect(ids((yield* getJson("/api/content?category=Education")).body)).toEqual(["intro-to-defi", "yield-farming-101"])
        expect(ids((yield* getJson("/api/content?category=Finance")).body)).toEqual(["stablecoin-economics"])
        expect(ids((yield* getJson("/api/content?category=Nothing")).body)).toEqual([])
      }))

    it.effect("pages with limit and an opaque cursor until nextCursor is null", () =>
      Effect.gen(function* () {
        const first = yield* getJson("/api/content?limit=2")
        expect(ids(first.body)).toEqual(["intro-to-defi", "yield-farming-101"])
        expect(first.body).toMatchObject({ success: true, nextCursor: expect.any(String) })
        const cursor1 = nextCursorOf(first.body)
        // opaque: not the bare id of the last item
        expect(cursor1).not.toContain("clp")
        const second = yield* getJson(`/api/content?limit=2&cursor=${encodeURIComponent(cursor1)}`)
        expect(ids(second.body)).toEqual(["inside-the-evm", "stablecoin-economics"])
        const cursor2 = nextCursorOf(second.body)
        const third = yield* getJson(`/api/content?limit=2&cursor=${encodeURIComponent(cursor2)}`)
        expect(ids(third.body)).toEqual(["nft-art-stories"])
        expect(third.body).toMatchObject({ nextCursor: null })
        // an exact page end still reports no further page
        const five = yield* getJson("/api/content?limit=5")
        expect(ids(five.body)).toHaveLength(5)
        expect(five.body).toMatchObject({ nextCursor: null })
      }))

    it.effect("paging is exact at microsecond timestamps and equal creation times (no repeat, no skip)", () =>
      Effect.gen(function* () {
        yield* insertContent({ id: "pg-b", contentId: "paging-b", category: "Paging", isActive: true, createdAt: "2024-01-01T00:00:00.123456Z" })
        yield* insertContent({ id: "pg-a", contentId: "paging-a", category: "Paging", isActive: true, createdAt: "2024-01-01T00:00:00.123456Z" })
        yield* insertContent({ id: "pg-c", contentId: "paging-c", category: "Paging", isActive: true, createdAt: "2024-01-01T00:00:00.123457Z" })
        yield* insertContent({ id: "pg-x", contentId: "paging-x", category: "Paging", isActive: false, createdAt: "2024-01-01T00:00:00.123458Z" })
        yield* insertContent({ id: "pg-d", contentId: "paging-d", category: "Paging", isActive: true, createdAt: "2024-01-01T00:00:00.124Z" })
        const client = yield* apiClient
        const seen: Array<string> = []
        let cursor: string | null = null
        for (let i = 0; i < 10; i++) {
          const page: { readonly data: ReadonlyArray<{ readonly contentId: string }>; readonly nextCursor: string | null } =
            yield* client.content.list({ urlParams: { category: "Paging", limit: 1, ...(cursor === null ? {} : { cursor }) } })
          seen.push(...page.data.map((c) => c.contentId))
          cursor = page.nextCursor
          if (cursor === null) break
        }
        expect(seen).toEqual(["paging-a", "paging-b", "paging-c", "paging-d"])
      }))

    it.effect("a bad limit or cursor is a 400 in the seed's error format", () =>
      Effect.gen(function* () {
        for (const query of ["limit=0", "limit=101", "limit=abc", "limit=1.5", "limit=-1", "limit=", "cursor=%21%21%21", `cursor=${Buffer.from("garbage").toString("base64url")}`]) {
          const { body, status } = yield* getJson(`/api/content?${query}`)
          expect({ query, status }).toEqual({ query, status: 400 })
          expect(body).toEqual(seedErrorBody(400, "Bad Request"))
        }
        expect((yield* getJson("/api/content?limit=100")).status).toBe(200)
        expect((yield* getJson("/api/content?limit=1")).status).toBe(200)
      }))

    it.effect("GET /api/content/:contentId serves the seed's example with a matching on-chain listing", () =>
      Effect.gen(function* () {
        const { body, status } = yield* getJson("/api/content/intro-to-defi")
        expect(status).toBe(200)
        expect(body).toStrictEqual({
          success: true,
          data: {
            ...introToDefi,
            blockchain: {
              available: true,
              isListed: true,
              onChainPrice: "10000000",
              onChainDuration: 3600,
              priceMatches: true,
              durationMatches: true
            }
          },
          timestamp: isoTimestamp
        })
      }))

    it.effect("an item whose on-chain price was changed shows priceMatches: false", () =>
      Effect.gen(function* () {
        const dev = yield* DevChain
        const item = demoCatalogue[1]
        if (!item) throw new Error("demo catalogue too short")
        yield* dev.list(item.contentId, { price: 6_000_000n, duration: BigInt(item.totalDuration), creator: toAddress(item.creatorAddress) })
        const client = yield* apiClient
        const { data } = yield* client.content.get({ path: { contentId: ContentId.make(item.contentId) } })
        expect(data.fullPrice).toBe(5_000_000n)
        expect(data.blockchain).toEqual({
          available: true,
          isListed: true,
          onChainPrice: 6_000_000n,
          onChainDuration: 1800,
          priceMatches: false,
          durationMatches: true
        })
        // and a changed duration
        yield* dev.list(item.contentId, { price: item.fullPrice, duration: 1801n, creator: toAddress(item.creatorAddress) })
        const again = yield* client.content.get({ path: { contentId: ContentId.make(item.contentId) } })
        expect(again.data.blockchain).toMatchObject({ available: true, priceMatches: true, durationMatches: false, onChainDuration: 1801 })
      }))

    it.effect("a delisted item shows isListed: false", () =>
      Effect.gen(function* () {
        const dev = yield* DevChain
        yield* dev.delist("nft-art-stories")
        const { body } = yield* getJson("/api/content/nft-art-stories")
        expect(body).toMatchObject({ data: { contentId: "nft-art-stories", blockchain: { available: true, isListed: false } } })
      }))

    it.effect("unknown content is a 404 in the seed's error format; a malformed id is a 400", () =>
      Effect.gen(function* () {
        const unknown = yield* getJson("/api/content/no-such-thing")
        expect(unknown.status).toBe(404)
        expect(unknown.body).toEqual(seedErrorBody(404, "Not Found"))
        expect(unknown.body).toMatchObject({ message: expect.stringContaining("no-such-thing") })
        const malformed = yield* getJson("/api/content/bad%20id!")
        expect(malformed.status).toBe(400)
        expect(malformed.body).toEqual(seedErrorBody(400, "Bad Request"))
      }))

    it.effect("inactive content is neither listed nor served (404)", () =>
      Effect.gen(function* () {
        yield* insertContent({ id: "clp-retired", contentId: "retired-course", category: "Education", isActive: false, createdAt: "2023-10-01T00:00:00Z" })
        const detail = yield* getJson("/api/content/retired-course")
        expect(detail.status).toBe(404)
        expect(detail.body).toEqual(seedErrorBody(404, "Not Found"))
        expect(ids((yield* getJson("/api/content?category=Education")).body)).toEqual(["intro-to-defi", "yield-farming-101"])
      }))

    it.effect("with the chain down, content is still served: the list as usual, the detail marked unavailable", () =>
      Effect.gen(function* () {
        const [list, detail] = yield* whileChainDown(Effect.all([getJson("/api/content?category=Education"), getJson("/api/content/intro-to-defi")]))
        expect(list.status).toBe(200)
        expect(ids(list.body)).toEqual(["intro-to-defi", "yield-farming-101"])
        expect(detail.status).toBe(200)
        expect(detail.body).toStrictEqual({
          success: true,
          data: { ...introToDefi, blockchain: { available: false, reason: expect.any(String) } },
          timestamp: isoTimestamp
        })
        // nothing internal leaks through the reason
        expect(JSON.stringify(detail.body)).not.toMatch(/simulated|refused/)
        // the typed client decodes the unavailable variant too
        const client = yield* apiClient
        const typed = yield* whileChainDown(client.content.get({ path: { contentId: ContentId.make("intro-to-defi") } }))
        expect(typed.data.blockchain.available).toBe(false)
        // and once the chain is back, the detail is verified again
        const back = yield* getJson("/api/content/intro-to-defi")
        expect(back.body).toMatchObject({ data: { blockchain: { available: true, priceMatches: true } } })
      }))

    it.effect("the OpenAPI document describes both routes, the cursor and the verification union", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const spec = yield* http.get("/openapi.json").pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(OpenApiShape)))
        expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/api/content", "/api/content/{contentId}"]))
        expect(Object.keys(spec.components.schemas)).toEqual(
          expect.arrayContaining(["Content", "ContentList", "ContentCursor", "ContentDetail", "BlockchainVerified", "BlockchainUnavailable"])
        )
        expect(JSON.stringify(spec.components.schemas["ContentList"])).toContain("nextCursor")
      }))
  })
})
