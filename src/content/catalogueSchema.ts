import { Schema } from "effect"
import { isAddress, toAddress } from "../domain/Address.js"
import { ContentId } from "../domain/Content.js"
import { AmountString } from "../domain/Money.js"

/**
 * The catalogue's field rules, shared by `npm run catalogue:sync` (CatalogueSync.ts) and the operators'
 * routes (AdminApi.ts). Schemas only: the typed client's import graph reaches this file, so it holds no
 * server code.
 */

/** The contract's bound on a price (`uint88` in its storage). */
export const MAX_PRICE = 2n ** 88n - 1n
/** The database's bound on a duration (`integer`). */
const MAX_DURATION = 2_147_483_647

/** A price as the API writes amounts (a decimal string of the smallest unit), positive and within the contract's bound. */
export const Price = AmountString.pipe(
  Schema.filter((p) => (p > 0n && p <= MAX_PRICE) || `must be a positive amount of at most ${MAX_PRICE} (the token's smallest unit)`)
)

/** A duration in whole seconds, as the API's `totalDuration`: positive and within the database's bound. */
export const Duration = Schema.Int.pipe(
  Schema.filter((d) => (d > 0 && d <= MAX_DURATION) || `must be a whole number of seconds from 1 to ${MAX_DURATION}`)
)

export const text = (max: number) => Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max))

export const CreatorAddress = Schema.String.pipe(
  Schema.filter((s) => isAddress(s) || "must be 0x followed by 40 hexadecimal digits"),
  Schema.filter((s) => toAddress(s) !== `0x${"0".repeat(40)}` || "must not be the zero address")
)

/** One entry of a catalogue file (JSON). Unknown fields are refused, as the API refuses them. */
export const CatalogueFileEntry = Schema.Struct({
  id: text(64),
  contentId: ContentId,
  title: text(200),
  description: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(2000)), { default: () => "" }),
  fullPrice: Price,
  totalDuration: Duration,
  category: text(100),
  thumbnailUrl: Schema.optionalWith(Schema.NullOr(Schema.String.pipe(Schema.maxLength(2000))), { default: () => null }),
  creatorAddress: CreatorAddress,
  createdAt: Schema.optional(Schema.String.pipe(Schema.filter((s) => !Number.isNaN(Date.parse(s)) || "must be an ISO 8601 date")))
})

/** A catalogue file: a JSON array of entries, each `id` and `contentId` once. */
export const CatalogueFile = Schema.Array(CatalogueFileEntry).pipe(
  Schema.filter((entries) => {
    const seen = new Set<string>()
    const seenIds = new Set<string>()
    for (const e of entries) {
      if (seen.has(e.contentId)) return `contentId '${e.contentId}' appears twice`
      if (seenIds.has(e.id)) return `id '${e.id}' appears twice`
      seen.add(e.contentId)
      seenIds.add(e.id)
    }
    return true
  })
)
