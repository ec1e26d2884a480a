import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { isConnectionFailure } from "../db/errors.js"
import { Chain } from "../domain/Chain.js"
import type { ContentItem } from "../domain/Content.js"
import { ContentNotFound, DatabaseUnavailable, NoContentManager } from "../domain/errors.js"
import { AdminRepo, type ContentFields } from "./AdminRepo.js"
import type { CatalogueEntry } from "./catalogue.js"
import { ListingOutbox, type ListingState } from "./ListingOutbox.js"

/** Creating an item whose `contentId` (or row `id`) is already in the catalogue (409). */
export class ContentExists extends Schema.TaggedError<ContentExists>()("ContentExists", { contentId: Schema.String }) {
  override get message(): string {
    return `content '${this.contentId}' (or its id) is already in the catalogue: update it instead`
  }
}

/** What an operator's change left behind: the item as stored, and whether the chain lists it so yet. */
export interface Changed {
  readonly item: ContentItem
  readonly listing: ListingState
}

/** The fields an update may change; the absent (undefined) ones keep their values. */
export type ContentPatch = { readonly [K in keyof ContentFields]?: ContentFields[K] | undefined }

/** The stored fields with the patch's given ones (a `null` thumbnail is given: it removes the thumbnail). */
const patched = (f: ContentFields, p: ContentPatch): ContentFields => ({
  title: p.title ?? f.title,
  description: p.description ?? f.description,
  fullPrice: p.fullPrice ?? f.fullPrice,
  totalDuration: p.totalDuration ?? f.totalDuration,
  category: p.category ?? f.category,
  thumbnailUrl: p.thumbnailUrl === undefined ? f.thumbnailUrl : p.thumbnailUrl,
  creatorAddress: p.creatorAddress ?? f.creatorAddress
})

export type AdminError = NoContentManager | DatabaseUnavailable

/**
 * The operators' catalogue use cases. Each change is one transaction that writes the item and a row of
 * the listing outbox, then the outbox publishes it on chain with the content manager's key: the
 * database first (so a crash leaves a pending row the reconciler finishes, never a listing the
 * database does not know), the chain second. Without a content-manager key nothing is written.
 */
export class ContentAdmin extends Context.Tag("payg/ContentAdmin")<
  ContentAdmin,
  {
    readonly create: (entry: Omit<CatalogueEntry, "id" | "createdAt"> & { readonly id?: string | undefined }) => Effect.Effect<Changed, AdminError | ContentExists>
    readonly update: (contentId: string, patch: ContentPatch) => Effect.Effect<Changed, AdminError | ContentNotFound>
    readonly activate: (contentId: string) => Effect.Effect<Changed, AdminError | ContentNotFound>
    readonly delist: (contentId: string) => Effect.Effect<Changed, AdminError | ContentNotFound>
  }
>() {}

/** A transaction whose own failures (begin, commit) are mapped like any query's: outage -> 503, else a defect. */
const inTransaction = <A, E, R>(sql: SqlClient.SqlClient, effect: Effect.Effect<A, E, R>) =>
  sql.withTransaction(effect).pipe(
    Effect.catchIf(
      (e): e is SqlError => e instanceof SqlError,
      (e) => (isConnectionFailure(e) ? Effect.fail(new DatabaseUnavailable({ reason: "connection failed" })) : Effect.die(e))
    )
  )

const fieldsOf = (item: ContentItem): ContentFields => ({
  title: item.title,
  description: item.description,
  fullPrice: item.fullPrice,
  totalDuration: item.totalDuration,
  category: item.category,
  thumbnailUrl: item.thumbnailUrl,
  creatorAddress: item.creatorAddress
})

export const ContentAdminLive = Layer.effect(
  ContentAdmin,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* AdminRepo
    const outbox = yield* ListingOutbox
    const chain = yield* Chain

    const needManager = Option.isSome(chain.contentManager) ? Effect.void : Effect.fail(new NoContentManager())

    /** Changes a stored item (locked) with `f`, records the outbox row, then publishes. */
    const change = (contentId: string, f: (item: ContentItem) => { readonly fields: ContentFields; readonly isActive: boolean }) =>
      Effect.gen(function* () {
        yield* needManager
        const item = yield* inTransaction(
          sql,
          Effect.gen(function* () {
            const found = yield* repo.lock(contentId)
            if (Option.isNone(found)) return yield* new ContentNotFound({ contentId })
            const next = f(found.value)
            const saved = yield* repo.update(contentId, next.fields, next.isActive)
            yield* outbox.record(contentId)
            return saved
          })
        )
        return { item, listing: yield* outbox.publish(contentId) }
      })

    const create = Effect.fn("ContentAdmin.create")(function* (entry: Omit<CatalogueEntry, "id" | "createdAt"> & { readonly id?: string | undefined }) {
      yield* needManager
      const now = new Date(yield* Clock.currentTimeMillis)
      const id = entry.id ?? `content_${randomBytes(8).toString("hex")}`
      const item = yield* inTransaction(
        sql,
        Effect.gen(function* () {
          const inserted = yield* repo.insert({ ...entry, id }, now)
          if (Option.isNone(inserted)) return yield* new ContentExists({ contentId: entry.contentId })
          yield* outbox.record(entry.contentId)
          return inserted.value
        })
      )
      return { item, listing: yield* outbox.publish(entry.contentId) }
    })

    return ContentAdmin.of({
      create,
      update: Effect.fn("ContentAdmin.update")((contentId: string, patch: ContentPatch) =>
        change(contentId, (item) => ({ fields: patched(fieldsOf(item), patch), isActive: item.isActive }))
      ),
      activate: Effect.fn("ContentAdmin.activate")((contentId: string) => change(contentId, (item) => ({ fields: fieldsOf(item), isActive: true }))),
      delist: Effect.fn("ContentAdmin.delist")((contentId: string) => change(contentId, (item) => ({ fields: fieldsOf(item), isActive: false })))
    })
  })
)
