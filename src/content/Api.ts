import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Option, Schema } from "effect"
import { ContentId, type ContentItem } from "../domain/Content.js"
import { AmountString, documented, LookupErrors } from "../http/apiParts.js"
import { DateTime, Envelope } from "../http/envelope.js"
import { ServiceUnavailableError } from "../http/errors.js"
import type { ChainVerification, ContentDetail as ContentDetailModel, ContentPage } from "./Contents.js"

/** A catalogue item on the wire: exactly the seed's fields (the creator's address is not part of them). */
export const Content = Schema.Struct({
  id: Schema.String,
  contentId: Schema.String,
  title: Schema.String,
  description: Schema.String,
  fullPrice: AmountString,
  totalDuration: Schema.Int,
  category: Schema.String,
  thumbnailUrl: Schema.NullOr(Schema.String),
  isActive: Schema.Boolean,
  createdAt: DateTime
}).annotations({ identifier: "Content" })

/**
 * The result of checking an item against its listing on chain. A union on `available`:
 * - `{ available: true, isListed, onChainPrice, onChainDuration, priceMatches, durationMatches }`: the seed's
 *   object plus the `available` flag;
 * - `{ available: false, reason }`: the chain could not be reached. The item is still served (200), only
 *   unverified; a client must not read the absence of a listing into it.
 */
export const BlockchainVerification = Schema.Union(
  Schema.Struct({
    available: Schema.Literal(true),
    isListed: Schema.Boolean,
    onChainPrice: AmountString,
    onChainDuration: Schema.Int,
    priceMatches: Schema.Boolean,
    durationMatches: Schema.Boolean
  }).annotations({ identifier: "BlockchainVerified" }),
  Schema.Struct({
    available: Schema.Literal(false),
    reason: Schema.String
  }).annotations({ identifier: "BlockchainUnavailable" })
).annotations({
  identifier: "BlockchainVerification",
  description: "The item's listing on chain; `available: false` with a reason when the chain could not be reached"
})

export const ContentDetail = Schema.Struct({
  ...Content.fields,
  blockchain: BlockchainVerification
}).annotations({ identifier: "ContentDetail" })

/**
 * The pagination cursor: opaque to clients (base64url). It names the last item of the page it came
 * from; a malformed cursor fails decoding, which is a 400 like any invalid parameter.
 */
export const ContentCursor = Schema.compose(
  Schema.StringFromBase64Url,
  Schema.transform(Schema.String.pipe(Schema.pattern(/^after:.{1,200}$/s)), Schema.String, {
    strict: true,
    decode: (s) => s.slice("after:".length),
    encode: (id) => `after:${id}`
  })
).annotations({
  identifier: "ContentCursor",
  description: "Opaque cursor from a previous page's `nextCursor`",
  jsonSchema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,300}$", description: "Opaque cursor from a previous page's `nextCursor`" },
  message: () => "is not a cursor returned by this API"
})

/** `limit`: an integer from 1 to 100 (default 50). Anything else is a 400. */
export const PageLimit = Schema.compose(
  Schema.String.pipe(
    Schema.pattern(/^([1-9][0-9]?|100)$/, { message: () => "must be an integer from 1 to 100" }),
    Schema.annotations({ description: "Page size: an integer from 1 to 100 (default 50)" })
  ),
  Schema.NumberFromString
).pipe(
  Schema.int(),
  Schema.between(1, 100, { message: () => "must be an integer from 1 to 100" })
)

export const DEFAULT_PAGE_LIMIT = 50

export const ContentListParams = Schema.Struct({
  category: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))),
  limit: Schema.optional(PageLimit),
  cursor: Schema.optional(ContentCursor)
})

/**
 * Pagination shape (a choice beyond the seed): `data` stays the array of items the seed documents, and
 * the envelope gains `nextCursor` beside it, the cursor of the next page or `null` on the last page.
 * A client unaware of paging keeps working (it sees the first `limit` items, 50 by default).
 */
export const ContentList = Schema.Struct({
  ...Envelope(Schema.Array(Content)).fields,
  nextCursor: Schema.NullOr(ContentCursor)
}).annotations({ identifier: "ContentList" })

export class ContentApi extends HttpApiGroup.make("content")
  .add(
    HttpApiEndpoint.get("list", "/api/content")
      .setUrlParams(ContentListParams)
      .addSuccess(ContentList)
      .addError(ServiceUnavailableError)
      .annotateContext(documented("The catalogue", "Active content, oldest first; optional `category` filter; cursor pagination (`limit`, `cursor`, `nextCursor`)"))
  )
  .add(
    HttpApiEndpoint.get("get", "/api/content/:contentId")
      .setPath(Schema.Struct({ contentId: ContentId }))
      .addSuccess(Envelope(ContentDetail))
      .addError(LookupErrors)
      .annotateContext(documented("One catalogue item", "One active item with its on-chain listing; unknown or inactive items are 404"))
  )
  .annotate(OpenApi.Description, "The content catalogue (public)") {}

/** Wire form of a catalogue item. */
export const contentView = (c: ContentItem): typeof Content.Type => ({
  id: c.id,
  contentId: c.contentId,
  title: c.title,
  description: c.description,
  fullPrice: c.fullPrice,
  totalDuration: c.totalDuration,
  category: c.category,
  thumbnailUrl: c.thumbnailUrl,
  isActive: c.isActive,
  createdAt: c.createdAt
})

export const verificationView = (v: ChainVerification): typeof BlockchainVerification.Type =>
  v._tag === "Verified"
    ? {
        available: true,
        isListed: v.isListed,
        onChainPrice: v.onChainPrice,
        onChainDuration: Number(v.onChainDuration),
        priceMatches: v.priceMatches,
        durationMatches: v.durationMatches
      }
    : { available: false, reason: v.reason }

export const detailView = (d: ContentDetailModel): typeof ContentDetail.Type => ({
  ...contentView(d.item),
  blockchain: verificationView(d.blockchain)
})

export const pageView = (p: ContentPage) => ({
  items: p.items.map(contentView),
  nextCursor: Option.getOrNull(p.next)
})
