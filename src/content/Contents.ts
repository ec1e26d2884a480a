import { Context, Effect, Either, Layer, Option } from "effect"
import { ChainView } from "../chain/ChainView.js"
import type { ContentListing } from "../domain/Chain.js"
import type { ContentItem } from "../domain/Content.js"
import { type ChainUnavailable, ContentNotFound, type DatabaseUnavailable } from "../domain/errors.js"
import { ContentRepo } from "./ContentRepo.js"

/** One page of the active catalogue. `next` is the row id to continue after, if there is more. */
export interface ContentPage {
  readonly items: ReadonlyArray<ContentItem>
  readonly next: Option.Option<string>
}

/** How the catalogue's record compares with the content's listing on chain. */
export type ChainVerification =
  | {
      readonly _tag: "Verified"
      readonly isListed: boolean
      readonly onChainPrice: bigint
      readonly onChainDuration: bigint
      readonly priceMatches: boolean
      readonly durationMatches: boolean
    }
  /** The chain could not be asked: the item is still served, unverified. */
  | { readonly _tag: "Unavailable"; readonly reason: string }

export interface ContentDetail {
  readonly item: ContentItem
  readonly blockchain: ChainVerification
}

/** Compares a catalogue item with its on-chain listing (pure). */
export const verify = (item: ContentItem, listing: ContentListing): ChainVerification => ({
  _tag: "Verified",
  isListed: listing.listed,
  onChainPrice: listing.price,
  onChainDuration: listing.duration,
  priceMatches: listing.price === item.fullPrice,
  durationMatches: listing.duration === BigInt(item.totalDuration)
})

/** The reason given to clients; the adapter's own message (which may name an endpoint) is only logged. */
const CHAIN_UNAVAILABLE_REASON = "the blockchain could not be reached; the on-chain listing was not verified"

/** The catalogue use cases. */
export class Contents extends Context.Tag("payg/Contents")<
  Contents,
  {
    /** Active items, oldest first; `afterId` continues after the last item of a previous page. */
    readonly list: (options: {
      readonly category: Option.Option<string>
      readonly limit: number
      readonly afterId: Option.Option<string>
    }) => Effect.Effect<ContentPage, DatabaseUnavailable>
    /** An active item with its on-chain verification; inactive and unknown items are not found. */
    readonly detail: (contentId: string) => Effect.Effect<ContentDetail, ContentNotFound | DatabaseUnavailable>
  }
>() {}

export const ContentsLive = Layer.effect(
  Contents,
  Effect.gen(function* () {
    const repo = yield* ContentRepo
    // the listing from the chain view: no chain request while it is fresh
    const chain = yield* ChainView

    const list = Effect.fnUntraced(function* (options: {
      readonly category: Option.Option<string>
      readonly limit: number
      readonly afterId: Option.Option<string>
    }) {
      // one row more than asked tells whether another page follows, without counting
      const rows = yield* repo.listActive({
        category: Option.getOrUndefined(options.category),
        afterId: Option.getOrUndefined(options.afterId),
        limit: options.limit + 1
      })
      const items = rows.slice(0, options.limit)
      const last = items[items.length - 1]
      const next = rows.length > options.limit && last !== undefined ? Option.some(last.id) : Option.none()
      return { items, next }
    })

    const detail = Effect.fnUntraced(function* (contentId: string) {
      const found = yield* repo.findByContentId(contentId)
      if (Option.isNone(found) || !found.value.isActive) return yield* new ContentNotFound({ contentId })
      const item = found.value
      const listing = yield* Effect.either(chain.contentListing(item.contentId))
      const blockchain = yield* Either.match(listing, {
        onRight: (l) => Effect.succeed(verify(item, l)),
        onLeft: (e: ChainUnavailable) =>
          Effect.as(
            Effect.logWarning("content served without on-chain verification", { contentId, reason: e.reason }),
            { _tag: "Unavailable" as const, reason: CHAIN_UNAVAILABLE_REASON }
          )
      })
      return { item, blockchain }
    })

    return Contents.of({ list, detail })
  })
)
