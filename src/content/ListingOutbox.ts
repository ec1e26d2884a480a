import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { orUnavailable } from "../db/errors.js"
import { toAddress } from "../domain/Address.js"
import { Chain, type ContentListing, type ListingTerms } from "../domain/Chain.js"
import type { ContentItem } from "../domain/Content.js"
import type { ChainUnavailable, DatabaseUnavailable, ListingRefused, NoContentManager } from "../domain/errors.js"
import { ContentRepo } from "./ContentRepo.js"
import { listingChange } from "./CatalogueSync.js"

/**
 * Whether the chain lists an item as the database describes it: `synced`, or `pending` with the reason
 * (the chain was unreachable, the change waits for sessions at the old terms to settle, the chain
 * refused it). A pending change is finished by the reconciler.
 */
export type ListingState = { readonly _tag: "Synced" } | { readonly _tag: "Pending"; readonly reason: string }

/** What the chain must do so that it lists `item` as the database has it (pure). */
export const chainAction = (item: ContentItem, listing: ContentListing): "list" | "update" | "delist" | "none" =>
  item.isActive
    ? listingChange({ ...item, createdAt: undefined }, listing)
    : listing.listed
      ? "delist"
      : "none"

/**
 * The settlements a change would break: the contract refuses an amount above the listed price, and
 * any settlement of a delisted content. A session is charged at most the `full_price` it started with,
 * so a change is safe when no unsettled session of the content started above the new price (delisting:
 * when none is unsettled at all). Returns the price threshold, or None when nothing can break.
 */
export const breakingAbove = (action: "list" | "update" | "delist", item: ContentItem, listing: ContentListing): Option.Option<bigint> => {
  if (action === "delist") return Option.some(-1n)
  return listing.listed && item.fullPrice >= listing.price ? Option.none() : Option.some(item.fullPrice)
}

export interface ListingReport {
  readonly synced: number
  readonly pending: number
}

/**
 * The content-listing outbox (migration 0010): `record` adds a row in the caller's transaction (the
 * same one that changes the catalogue row), `publish` makes the chain list the item as the database
 * has it and closes the rows, `reconcile` publishes every item with a pending row.
 */
export class ListingOutbox extends Context.Tag("payg/ListingOutbox")<
  ListingOutbox,
  {
    /** Adds a pending row; inside the transaction that changes the item, it commits or rolls back with it. */
    readonly record: (contentId: string) => Effect.Effect<void, DatabaseUnavailable>
    readonly publish: (contentId: string) => Effect.Effect<ListingState, DatabaseUnavailable>
    readonly reconcile: Effect.Effect<ListingReport, DatabaseUnavailable>
  }
>() {}

export const ListingOutboxLive = Layer.effect(
  ListingOutbox,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const chain = yield* Chain
    const contents = yield* ContentRepo
    // one publisher per process: a request and the reconciler never send the same change twice at once
    // (two instances may: the second write reverts, and the next reconcile finds nothing left to do)
    const lock = yield* Effect.makeSemaphore(1)

    const record = Effect.fn("ListingOutbox.record")(function* (contentId: string) {
      const now = new Date(yield* Clock.currentTimeMillis)
      yield* orUnavailable(sql`INSERT INTO content_listing_outbox (content_id, created_at) VALUES (${contentId}, ${now})`)
    })

    const pendingUpTo = (contentId: string) =>
      orUnavailable(
        sql<{ readonly last: string | null }>`SELECT max(id)::text AS last FROM content_listing_outbox WHERE content_id = ${contentId} AND done_at IS NULL`
      ).pipe(Effect.map((rows) => Option.fromNullable(rows[0]?.last ?? null)))

    const close = (contentId: string, upTo: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        orUnavailable(
          sql`UPDATE content_listing_outbox SET done_at = ${new Date(now)}, attempts = attempts + 1, last_error = NULL
              WHERE content_id = ${contentId} AND done_at IS NULL AND id <= ${upTo}`
        )
      )

    const keepPending = (contentId: string, upTo: string, reason: string) =>
      orUnavailable(
        sql`UPDATE content_listing_outbox SET attempts = attempts + 1, last_error = ${reason}
            WHERE content_id = ${contentId} AND done_at IS NULL AND id <= ${upTo}`
      ).pipe(
        Effect.zipRight(Effect.logWarning("content listing left pending", { contentId, reason })),
        Effect.as<ListingState>({ _tag: "Pending", reason })
      )

    const unsettledAbove = (contentId: string, price: bigint) =>
      orUnavailable(
        sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM sessions
          WHERE content_id = ${contentId} AND status IN ('ACTIVE', 'PAUSED', 'SETTLING', 'UNPAID') AND full_price > ${price.toString()}::numeric`
      ).pipe(Effect.map((rows) => rows[0]?.n ?? 0))

    const send = (action: "list" | "update" | "delist", item: ContentItem): Effect.Effect<void, ChainUnavailable | ListingRefused | NoContentManager> => {
      const terms: ListingTerms = { creator: toAddress(item.creatorAddress), price: item.fullPrice, duration: BigInt(item.totalDuration) }
      if (action === "list") return chain.listContent(item.contentId, terms)
      if (action === "update") return chain.updateContent(item.contentId, terms)
      return chain.delistContent(item.contentId)
    }

    const publishNow = (contentId: string) =>
      Effect.gen(function* () {
        const upTo = yield* pendingUpTo(contentId)
        if (Option.isNone(upTo)) return { _tag: "Synced" } satisfies ListingState
        const found = yield* contents.findByContentId(contentId)
        if (Option.isNone(found)) return yield* keepPending(contentId, upTo.value, "the item is not in the catalogue")
        const item = found.value
        const outcome = yield* Effect.either(
          Effect.gen(function* () {
            const listing = yield* chain.contentListing(contentId)
            const action = chainAction(item, listing)
            if (action === "none") return Option.none<string>()
            const threshold = breakingAbove(action, item, listing)
            if (Option.isSome(threshold)) {
              const waiting = yield* unsettledAbove(contentId, threshold.value)
              if (waiting > 0) {
                return Option.some(
                  `${waiting} session(s) started at the old terms are not settled yet; the chain keeps the old listing until they are (new sessions are refused meanwhile)`
                )
              }
            }
            yield* send(action, item)
            return Option.none<string>()
          })
        )
        if (outcome._tag === "Left") {
          const e = outcome.left
          if (e._tag === "DatabaseUnavailable") return yield* e
          return yield* keepPending(contentId, upTo.value, e.message)
        }
        if (Option.isSome(outcome.right)) return yield* keepPending(contentId, upTo.value, outcome.right.value)
        yield* close(contentId, upTo.value)
        return { _tag: "Synced" } satisfies ListingState
      })

    const publish = Effect.fn("ListingOutbox.publish")(function* (contentId: string) {
      return yield* lock.withPermits(1)(publishNow(contentId)).pipe(Effect.uninterruptible)
    })

    const reconcile = Effect.gen(function* () {
      const rows = yield* orUnavailable(
        sql<{ readonly contentId: string }>`SELECT DISTINCT content_id AS "contentId" FROM content_listing_outbox WHERE done_at IS NULL LIMIT 500`
      )
      const states = yield* Effect.forEach(rows, (r) => publish(r.contentId))
      return { synced: states.filter((s) => s._tag === "Synced").length, pending: states.filter((s) => s._tag === "Pending").length }
    }).pipe(Effect.withSpan("ListingOutbox.reconcile"))

    return ListingOutbox.of({ record, publish, reconcile })
  })
)
