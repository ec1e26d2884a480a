import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Layer } from "effect"
import { createWalletClient } from "viem"
import { DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { streamingWalletAbi } from "../src/chain/contracts.js"
import { type CatalogueEntry, demoCatalogue } from "../src/content/catalogue.js"
import {
  CatalogueSync,
  CatalogueSyncLive,
  ContentListingsViem,
  listingChange,
  parseCatalogue
} from "../src/content/CatalogueSync.js"
import { MAX_PRICE } from "../src/content/catalogueSchema.js"
import { DatabaseLive } from "../src/db/Database.js"
import { toAddress } from "../src/domain/Address.js"
import { contentKeyOf } from "../src/domain/Chain.js"
import { testConfig } from "./support/app.js"

/** The in-process chain (deployed, nothing listed), a fresh database, and the sync over the operator's key. */
const Deps = Layer.mergeAll(DevChainDeployment({ demo: false }), DatabaseLive.pipe(Layer.provide(testConfig())))
const SyncLive = Layer.unwrapEffect(
  Effect.map(DevChain, (dev) =>
    CatalogueSyncLive.pipe(Layer.provide(ContentListingsViem({ publicClient: dev.publicClient, walletClient: dev.walletClient, wallet: toAddress(dev.deployment.wallet) })))
  )
)
const TestLive = SyncLive.pipe(Layer.provideMerge(Deps))

const onChain = (contentId: string) =>
  Effect.flatMap(DevChain, (dev) =>
    Effect.promise(() =>
      dev.publicClient.readContract({ address: dev.deployment.wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [contentKeyOf(contentId)] })
    )
  )

const inDatabase = (contentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly price: string; readonly duration: number; readonly title: string }>`
      SELECT full_price::text AS price, total_duration AS duration, title FROM content WHERE content_id = ${contentId}`
  )

const entry = (over: Partial<CatalogueEntry> = {}): CatalogueEntry => ({
  id: "row-1",
  contentId: "sintel",
  title: "Sintel",
  description: "",
  fullPrice: 4_000_000n,
  totalDuration: 888,
  category: "Film",
  thumbnailUrl: null,
  creatorAddress: "0x976ea74026e726554db657fa54763abd0c3a0aa9",
  ...over
})

describe("CatalogueSync on the in-process chain and a real database", () => {
  layer(TestLive, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("the demo catalogue is listed and stored, and a second sync changes nothing", () =>
      Effect.gen(function* () {
        const sync = yield* CatalogueSync
        const first = yield* sync.sync(demoCatalogue)
        expect(first.map((s) => [s.contentId, s.chain, s.database])).toEqual(demoCatalogue.map((c) => [c.contentId, "listed", "inserted"]))
        for (const c of demoCatalogue) {
          expect(yield* onChain(c.contentId)).toEqual([expect.stringMatching(new RegExp(c.creatorAddress, "i")), c.fullPrice, BigInt(c.totalDuration), true])
          expect(yield* inDatabase(c.contentId)).toEqual([{ price: c.fullPrice.toString(), duration: c.totalDuration, title: c.title }])
        }
        const second = yield* sync.sync(demoCatalogue)
        expect(second.every((s) => s.chain === "unchanged" && s.database === "unchanged")).toBe(true)
      })
    )

    it.effect("a new price is updated on both sides; a delisted item is listed again", () =>
      Effect.gen(function* () {
        const sync = yield* CatalogueSync
        const dev = yield* DevChain
        yield* sync.sync([entry()])
        yield* dev.delist("sintel")
        const relisted = yield* sync.sync([entry()])
        expect(relisted.map((s) => [s.chain, s.database])).toEqual([["listed", "unchanged"]])
        const repriced = yield* sync.sync([entry({ fullPrice: 6_000_000n, title: "Sintel (2010)" })])
        expect(repriced.map((s) => [s.chain, s.database])).toEqual([["updated", "updated"]])
        expect((yield* onChain("sintel")).slice(1)).toEqual([6_000_000n, 888n, true])
        expect(yield* inDatabase("sintel")).toEqual([{ price: "6000000", duration: 888, title: "Sintel (2010)" }])
      })
    )

    it.effect("an invalid entry (a zero price, a price beyond the contract's bound) is refused and nothing is written", () =>
      Effect.gen(function* () {
        const sync = yield* CatalogueSync
        const good = entry({ id: "row-ok", contentId: "tears-of-steel" })
        for (const fullPrice of [0n, MAX_PRICE + 1n]) {
          const bad = entry({ id: "row-bad", contentId: "cosmos-laundromat", fullPrice })
          const refused = yield* Effect.flip(sync.sync([good, bad]))
          expect(refused._tag).toBe("CatalogueInvalid")
          expect(refused.message).toContain("[1].fullPrice: must be a positive amount")
        }
        expect((yield* onChain("tears-of-steel"))[3]).toBe(false)
        expect(yield* inDatabase("tears-of-steel")).toEqual([])
      })
    )

    it.effect("a key without CONTENT_MANAGER_ROLE is refused by name, and the database is left as it was", () =>
      Effect.gen(function* () {
        const dev = yield* DevChain
        const outsider = createWalletClient({
          chain: dev.walletClient.chain,
          transport: dev.transport,
          account: "0xa0ee7a142d267c1f36714e4a8f75612f20a79720"
        })
        const sync = yield* Effect.provide(
          CatalogueSync,
          CatalogueSyncLive.pipe(
            Layer.provide(ContentListingsViem({ publicClient: dev.publicClient, walletClient: outsider, wallet: toAddress(dev.deployment.wallet) })),
            Layer.provide(Layer.succeed(SqlClient.SqlClient, yield* SqlClient.SqlClient))
          )
        )
        const refused = yield* Effect.flip(sync.sync([entry({ id: "row-x", contentId: "elephants-dream" })]))
        expect(refused._tag).toBe("ListingRejected")
        expect(refused.message).toContain("the chain refused to list 'elephants-dream': AccessControlUnauthorizedAccount")
        expect(yield* inDatabase("elephants-dream")).toEqual([])
      })
    )
  })
})

describe("catalogue files", () => {
  const valid = {
    id: "bbb",
    contentId: "big-buck-bunny",
    title: "Big Buck Bunny",
    fullPrice: "2000000",
    totalDuration: 600,
    category: "Film",
    creatorAddress: "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
  }
  const parse = (value: unknown) => Effect.runSync(Effect.either(parseCatalogue(JSON.stringify(value))))

  it("a valid file gives entries in the smallest unit, the creator lower-cased, the optional fields defaulted", () => {
    expect(parse([valid])).toEqual(
      Either.right([{ ...valid, fullPrice: 2_000_000n, description: "", thumbnailUrl: null, creatorAddress: "0x976ea74026e726554db657fa54763abd0c3a0aa9" }])
    )
  })

  it("every problem is named with its entry and field", () => {
    const result = parse([
      { ...valid, totalDuration: 0, colour: "red" },
      { ...valid, id: "other", fullPrice: "1.5", creatorAddress: "0x0000000000000000000000000000000000000000" }
    ])
    expect(Either.isLeft(result)).toBe(true)
    const reason = Either.isLeft(result) ? result.left.reason : ""
    expect(reason).toContain("[0].colour: is unexpected")
    expect(reason).toContain("[0].totalDuration: must be a whole number of seconds")
    expect(reason).toContain("[1].fullPrice")
    expect(reason).toContain("[1].creatorAddress: must not be the zero address")
  })

  it("a contentId or id given twice is refused, and so is text that is not JSON", () => {
    expect(parse([valid, { ...valid, id: "other" }])).toMatchObject({ left: { reason: "contentId 'big-buck-bunny' appears twice" } })
    expect(parse([valid, { ...valid, contentId: "sintel" }])).toMatchObject({ left: { reason: "id 'bbb' appears twice" } })
    expect(Effect.runSync(Effect.either(parseCatalogue("[{")))).toMatchObject({ left: { _tag: "CatalogueInvalid" } })
  })

  const listing = fc.record({ listed: fc.boolean(), price: fc.bigInt({ min: 1n, max: 10n }), duration: fc.bigInt({ min: 1n, max: 3n }) })
  it.prop("listingChange: nothing to send exactly when the item is listed with the entry's values", { l: listing, p: fc.bigInt({ min: 1n, max: 10n }), d: fc.integer({ min: 1, max: 3 }) }, ({ d, l, p }) => {
    const e = entry({ fullPrice: p, totalDuration: d })
    const change = listingChange(e, { ...l, creator: toAddress(e.creatorAddress) })
    const same = l.listed && l.price === p && l.duration === BigInt(d)
    expect(change).toBe(same ? "none" : l.listed ? "update" : "list")
  })
})
