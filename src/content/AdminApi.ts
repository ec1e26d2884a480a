import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { OperatorAuthentication } from "../admin/Operator.js"
import { ContentId } from "../domain/Content.js"
import { documented, LookupErrors, strict } from "../http/apiParts.js"
import { AmountJsonSchema, Envelope } from "../http/envelope.js"
import { BadRequestError, ConflictError, ServiceUnavailableError } from "../http/errors.js"
import type { Changed } from "./Admin.js"
import { Content, contentView } from "./Api.js"
import { CatalogueFileEntry, CreatorAddress, Duration, Price, text } from "./catalogueSchema.js"

/** A price on the wire: digits only, positive, within the contract's bound. */
const WirePrice = Price.annotations(AmountJsonSchema)

/**
 * A new catalogue item: the fields of a catalogue file entry (validated as `npm run catalogue:sync`
 * validates them), its row `id` optional (generated when absent), no `createdAt` (now).
 */
export const CreateContent = Schema.Struct({
  ...CatalogueFileEntry.omit("createdAt", "id", "fullPrice").fields,
  id: Schema.optional(text(64)),
  fullPrice: WirePrice
}).annotations({ ...strict, identifier: "CreateContent" })

/** An update: any of the fields an operator may change, at least one. */
export const UpdateContent = Schema.Struct({
  title: Schema.optional(text(200)),
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(2000))),
  fullPrice: Schema.optional(WirePrice),
  totalDuration: Schema.optional(Duration),
  category: Schema.optional(text(100)),
  thumbnailUrl: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(2000)))),
  creatorAddress: Schema.optional(CreatorAddress)
})
  .annotations(strict)
  .pipe(Schema.filter((u) => Object.keys(u).length > 0 || "must change at least one field"))
  .annotations({ identifier: "UpdateContent" })

/** Whether the chain lists the item as stored: `synced`, or `pending` with the reason (the reconciler finishes it). */
export const ListingStatus = Schema.Struct({
  state: Schema.Literal("synced", "pending"),
  reason: Schema.NullOr(Schema.String)
}).annotations({ identifier: "ListingStatus" })

/** A catalogue item as operators see it: the public fields, its creator, and its listing on chain. */
export const AdminContent = Schema.Struct({
  ...Content.fields,
  creatorAddress: Schema.String,
  listing: ListingStatus
}).annotations({ identifier: "AdminContent" })

const path = Schema.Struct({ contentId: ContentId })

const outcomes =
  "The change is stored with a listing-outbox row in one transaction, then listed on chain with the content-manager key: `listing.state` is `synced` when the chain agrees, `pending` (with the reason) when the chain was unreachable or the change waits for sessions at the old terms to settle; the reconciler finishes it. 503 without a content-manager key (nothing changed)"

export class AdminContentApi extends HttpApiGroup.make("adminContent")
  .add(
    HttpApiEndpoint.post("create", "/api/admin/content")
      .setPayload(CreateContent)
      .addSuccess(Envelope(AdminContent), { status: 201 })
      .addError(BadRequestError)
      .addError(ConflictError)
      .addError(ServiceUnavailableError)
      .annotateContext(documented("Add a catalogue item", `Creates an active item and lists it on chain. 409 when the contentId or id exists. ${outcomes}`))
  )
  .add(
    HttpApiEndpoint.post("update", "/api/admin/content/:contentId")
      .setPath(path)
      .setPayload(UpdateContent)
      .addSuccess(Envelope(AdminContent))
      .addError(BadRequestError)
      .addError(LookupErrors)
      .annotateContext(
        documented(
          "Change a catalogue item",
          `Changes the given fields (price, duration, creator, texts). A new price applies to sessions started after it; open sessions keep the price they started with. ${outcomes}`
        )
      )
  )
  .add(
    HttpApiEndpoint.post("activate", "/api/admin/content/:contentId/activate")
      .setPath(path)
      .addSuccess(Envelope(AdminContent))
      .addError(LookupErrors)
      .annotateContext(documented("Put an item back on sale", `Marks the item active and lists it on chain again with its stored terms. ${outcomes}`))
  )
  .add(
    HttpApiEndpoint.post("delist", "/api/admin/content/:contentId/delist")
      .setPath(path)
      .addSuccess(Envelope(AdminContent))
      .addError(LookupErrors)
      .annotateContext(
        documented(
          "Take an item off sale",
          `Marks the item inactive (no new session starts) and delists it on chain once no session of it is left to settle. ${outcomes}`
        )
      )
  )
  .middleware(OperatorAuthentication)
  .annotate(OpenApi.Description, "Catalogue management for operators (ADMIN_ADDRESSES, signed in with Ethereum)") {}

/** Wire form of a change's outcome. */
export const adminView = (c: Changed): typeof AdminContent.Type => ({
  ...contentView(c.item),
  creatorAddress: c.item.creatorAddress,
  listing: c.listing._tag === "Synced" ? { state: "synced", reason: null } : { state: "pending", reason: c.listing.reason }
})
