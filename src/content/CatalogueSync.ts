import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Either, Layer, ParseResult, Schema } from "effect"
import type { Account, Chain as ViemChain, PublicClient, Transport, WalletClient } from "viem"
import { type Address, toAddress } from "../domain/Address.js"
import { type ContentListing, contentKeyOf } from "../domain/Chain.js"
import type { ChainUnavailable } from "../domain/errors.js"
import { streamingWalletAbi } from "../chain/contracts.js"
import { classify, unavailable } from "../chain/errors.js"
import { type RowChange, upsertCatalogue } from "../db/seed.js"
import type { CatalogueEntry } from "./catalogue.js"
import { CatalogueFile, CatalogueFileEntry } from "./catalogueSchema.js"

/**
 * One catalogue, written to both places it lives: listed on chain (StreamingWallet, by the content
 * manager's key) and stored in the database, so that what the API sells and what the chain settles
 * cannot disagree. Used by `npm run catalogue:sync` (a JSON file, or the demo catalogue); the operators'
 * routes (src/content/Admin.ts) validate with the same field schemas and decide with `listingChange`.
 */

/** A catalogue that cannot be synced: the reason names the entry and the field. */
export class CatalogueInvalid extends Schema.TaggedError<CatalogueInvalid>()("CatalogueInvalid", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid catalogue: ${this.reason}`
  }
}

/** The chain refused a listing (e.g. the key lacks CONTENT_MANAGER_ROLE). */
export class ListingRejected extends Schema.TaggedError<ListingRejected>()("ListingRejected", {
  contentId: Schema.String,
  errorName: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the chain refused to list '${this.contentId}': ${this.errorName}${this.reason === "" ? "" : ` (${this.reason})`}`
  }
}

const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((i) => (i.path.length === 0 ? i.message : `${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "")}: ${i.message}`))
    .join("; ")

const decodeFile = Schema.decodeUnknownEither(CatalogueFile, { errors: "all", onExcessProperty: "error" })
const validateEntries = Schema.validateEither(Schema.typeSchema(CatalogueFile), { errors: "all", onExcessProperty: "ignore" })

const toEntry = (e: typeof CatalogueFileEntry.Type): CatalogueEntry => ({
  ...e,
  contentId: e.contentId,
  creatorAddress: toAddress(e.creatorAddress)
})

/** Parses a catalogue file's text (JSON) into entries, or says which entry and field is wrong. */
export const parseCatalogue = (json: string): Effect.Effect<ReadonlyArray<CatalogueEntry>, CatalogueInvalid> =>
  Effect.gen(function* () {
    const value = yield* Effect.try({
      try: (): unknown => JSON.parse(json),
      catch: (e) => new CatalogueInvalid({ reason: `not JSON: ${e instanceof Error ? e.message : String(e)}` })
    })
    return yield* Either.match(decodeFile(value), {
      onLeft: (error) => Effect.fail(new CatalogueInvalid({ reason: describeIssues(error) })),
      onRight: (entries) => Effect.succeed(entries.map(toEntry))
    })
  })

/** What a sync did to one entry, on chain and in the database. */
export interface SyncedEntry {
  readonly contentId: string
  readonly chain: "listed" | "updated" | "unchanged"
  readonly database: RowChange
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly creatorAddress: Address
}

/** What the chain must be told so that it lists `entry` as it is (pure). */
export const listingChange = (entry: CatalogueEntry, listing: ContentListing): "list" | "update" | "none" => {
  if (!listing.listed) return "list" // new, or delisted: listContent (re)lists with the entry's values
  const same = listing.price === entry.fullPrice && listing.duration === BigInt(entry.totalDuration) && listing.creator === toAddress(entry.creatorAddress)
  return same ? "none" : "update"
}

/** The chain side of the catalogue: the StreamingWallet's listings, written with the content manager's key. */
export class ContentListings extends Context.Tag("payg/ContentListings")<
  ContentListings,
  {
    readonly read: (contentId: string) => Effect.Effect<ContentListing, ChainUnavailable>
    /** listContent (new or delisted) or updateContent (listed), waiting for the receipt. */
    readonly write: (
      contentId: string,
      change: "list" | "update",
      listing: { readonly creator: Address; readonly price: bigint; readonly duration: bigint }
    ) => Effect.Effect<void, ChainUnavailable | ListingRejected>
  }
>() {}

/** ContentListings over viem clients: `walletClient`'s account must hold CONTENT_MANAGER_ROLE. */
export const ContentListingsViem = (clients: {
  readonly publicClient: PublicClient<Transport, ViemChain>
  readonly walletClient: WalletClient<Transport, ViemChain, Account>
  readonly wallet: Address
}) => {
  const { publicClient, walletClient, wallet } = clients
  const rejected = (contentId: string) => (e: unknown) => {
    const c = classify(e)
    return c._tag === "SettlementRejected" ? new ListingRejected({ contentId, errorName: c.errorName, reason: c.reason }) : c
  }
  return Layer.succeed(
    ContentListings,
    ContentListings.of({
      read: (contentId) =>
        Effect.tryPromise({
          try: () => publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [contentKeyOf(contentId)] }),
          catch: unavailable
        }).pipe(Effect.map(([creator, price, duration, listed]) => ({ creator: toAddress(creator), price, duration, listed }))),
      write: (contentId, change, l) =>
        Effect.gen(function* () {
          const { request } = yield* Effect.tryPromise({
            try: () =>
              publicClient.simulateContract({
                account: walletClient.account,
                address: wallet,
                abi: streamingWalletAbi,
                functionName: change === "list" ? "listContent" : "updateContent",
                args: [contentKeyOf(contentId), l.creator, l.price, l.duration]
              }),
            catch: rejected(contentId)
          })
          const hash = yield* Effect.tryPromise({ try: () => walletClient.writeContract(request), catch: rejected(contentId) })
          const receipt = yield* Effect.tryPromise({ try: () => publicClient.waitForTransactionReceipt({ hash }), catch: unavailable })
          if (receipt.status !== "success") {
            return yield* new ListingRejected({ contentId, errorName: "TransactionReverted", reason: `transaction ${hash} reverted` })
          }
        }).pipe(Effect.withSpan("ContentListings.write", { attributes: { contentId, change } }))
    })
  )
}

/** Lists on chain what differs from the entries, then upserts them into the database. */
export class CatalogueSync extends Context.Tag("payg/CatalogueSync")<
  CatalogueSync,
  {
    /**
     * Idempotent: a second sync of the same entries changes nothing. Entries are validated first (as a
     * file's are) and nothing is written when one is invalid. The chain is written before the database,
     * so an item is never in the catalogue before it can be sold; entries absent here are left alone.
     */
    readonly sync: (
      entries: ReadonlyArray<CatalogueEntry>
    ) => Effect.Effect<ReadonlyArray<SyncedEntry>, CatalogueInvalid | ChainUnavailable | ListingRejected | SqlError>
  }
>() {}

export const CatalogueSyncLive = Layer.effect(
  CatalogueSync,
  Effect.gen(function* () {
    const listings = yield* ContentListings
    const sql = yield* SqlClient.SqlClient
    const sync = Effect.fn("CatalogueSync.sync")(function* (entries: ReadonlyArray<CatalogueEntry>) {
      yield* Either.match(validateEntries(entries), {
        onLeft: (error) => Effect.fail(new CatalogueInvalid({ reason: describeIssues(error) })),
        onRight: () => Effect.void
      })
      const onChain = new Map<string, SyncedEntry["chain"]>()
      for (const entry of entries) {
        const listing = { creator: toAddress(entry.creatorAddress), price: entry.fullPrice, duration: BigInt(entry.totalDuration) }
        const change = listingChange(entry, yield* listings.read(entry.contentId))
        if (change !== "none") yield* listings.write(entry.contentId, change, listing)
        onChain.set(entry.contentId, change === "list" ? "listed" : change === "update" ? "updated" : "unchanged")
      }
      const inDatabase = yield* Effect.provideService(upsertCatalogue(entries), SqlClient.SqlClient, sql)
      return entries.map(
        (e): SyncedEntry => ({
          contentId: e.contentId,
          chain: onChain.get(e.contentId) ?? "unchanged",
          database: inDatabase.get(e.contentId) ?? "unchanged",
          fullPrice: e.fullPrice,
          totalDuration: e.totalDuration,
          creatorAddress: toAddress(e.creatorAddress)
        })
      )
    })
    return CatalogueSync.of({ sync })
  })
)
