import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, type Option, Schema } from "effect"
import { orUnavailable } from "../db/errors.js"
import { CONTENT_COLUMNS } from "../db/queries.js"
import type { ContentItem } from "../domain/Content.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import type { CatalogueEntry } from "./catalogue.js"
import { contentByContentId, ContentRow } from "./ContentRepo.js"

/** The terms and texts of an item an operator may change. */
export type ContentFields = Omit<CatalogueEntry, "id" | "contentId" | "createdAt">

/**
 * The catalogue's write side, for the operators' routes: `lock`, `update` and `insert` run in the
 * caller's transaction, beside the outbox row. An unlocked read of one item is ContentRepo.findByContentId.
 */
export class AdminRepo extends Context.Tag("payg/AdminRepo")<
  AdminRepo,
  {
    /** The row, locked until the transaction ends. */
    readonly lock: (contentId: string) => Effect.Effect<Option.Option<ContentItem>, DatabaseUnavailable>
    /** Inserts an active item; None when its id or contentId is taken. */
    readonly insert: (entry: CatalogueEntry, now: Date) => Effect.Effect<Option.Option<ContentItem>, DatabaseUnavailable>
    readonly update: (contentId: string, fields: ContentFields, isActive: boolean) => Effect.Effect<ContentItem, DatabaseUnavailable>
  }
>() {}

export const AdminRepoPg = Layer.effect(
  AdminRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(CONTENT_COLUMNS)
    const lock = contentByContentId(sql, { lock: true })
    const insert = (e: CatalogueEntry, now: Date) =>
      SqlSchema.findOne({
        Request: Schema.Void,
        Result: ContentRow,
        execute: () => sql`
          INSERT INTO content (id, content_id, title, description, full_price, total_duration, category, thumbnail_url, is_active, creator_address, created_at)
          VALUES (${e.id}, ${e.contentId}, ${e.title}, ${e.description}, ${e.fullPrice.toString()}, ${e.totalDuration}, ${e.category},
                  ${e.thumbnailUrl}, true, ${e.creatorAddress}, ${now})
          ON CONFLICT DO NOTHING
          RETURNING ${columns}`
      })(undefined)
    const update = (contentId: string, f: ContentFields, isActive: boolean) =>
      SqlSchema.single({
        Request: Schema.Void,
        Result: ContentRow,
        execute: () => sql`
          UPDATE content SET title = ${f.title}, description = ${f.description}, full_price = ${f.fullPrice.toString()},
            total_duration = ${f.totalDuration}, category = ${f.category}, thumbnail_url = ${f.thumbnailUrl},
            creator_address = ${f.creatorAddress}, is_active = ${isActive}
          WHERE content_id = ${contentId}
          RETURNING ${columns}`
      })(undefined)
    return AdminRepo.of({
      lock: (contentId) => orUnavailable(lock(contentId)),
      insert: (entry, now) => orUnavailable(insert(entry, now)),
      update: (contentId, fields, isActive) => orUnavailable(update(contentId, fields, isActive))
    })
  })
)
