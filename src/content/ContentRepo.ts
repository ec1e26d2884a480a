import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, type Option, Schema } from "effect"
import type { ContentItem } from "../domain/Content.js"
import { ContentId } from "../domain/Content.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { orUnavailable } from "../db/errors.js"
import { CONTENT_COLUMNS } from "../db/queries.js"

/** A row of CONTENT_COLUMNS (the price arrives as text). */
export const ContentRow = Schema.Struct({
  id: Schema.String,
  contentId: ContentId,
  title: Schema.String,
  description: Schema.String,
  fullPrice: Schema.BigInt,
  totalDuration: Schema.Number,
  category: Schema.String,
  thumbnailUrl: Schema.NullOr(Schema.String),
  isActive: Schema.Boolean,
  creatorAddress: Schema.String,
  createdAt: Schema.DateFromSelf
})

export interface ListOptions {
  readonly category?: string | undefined
  readonly limit: number
  /**
   * Exclusive: the row `id` of the last item of the previous page. The position (created_at, id) is read
   * from that row inside the query, so it is exact to the microsecond (a JS Date would truncate it) and a
   * page boundary never repeats or skips an item. An id that names no row yields an empty page.
   */
  readonly afterId?: string | undefined
}

/** The catalogue port. */
export class ContentRepo extends Context.Tag("payg/ContentRepo")<
  ContentRepo,
  {
    /** Any item by its catalogue id, active or not. */
    readonly findByContentId: (contentId: string) => Effect.Effect<Option.Option<ContentItem>, DatabaseUnavailable>
    /** Active items, oldest first, keyset-paginated. */
    readonly listActive: (options: ListOptions) => Effect.Effect<ReadonlyArray<ContentItem>, DatabaseUnavailable>
  }
>() {}

/** One item by its catalogue id, decoded by ContentRow; with `lock`, its row stays locked until the caller's transaction ends. */
export const contentByContentId = (sql: SqlClient.SqlClient, options: { readonly lock: boolean }) =>
  SqlSchema.findOne({
    Request: Schema.String,
    Result: ContentRow,
    execute: (contentId) =>
      sql`SELECT ${sql.literal(CONTENT_COLUMNS)} FROM content WHERE content_id = ${contentId}${options.lock ? sql` FOR UPDATE` : sql``}`
  })

/** The catalogue, through the SqlClient; rows decoded by ContentRow (a ContentItem as it is). */
export const ContentRepoPg = Layer.effect(
  ContentRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(CONTENT_COLUMNS)
    const byContentId = contentByContentId(sql, { lock: false })
    const page = SqlSchema.findAll({
      Request: Schema.Struct({ category: Schema.NullOr(Schema.String), afterId: Schema.NullOr(Schema.String), limit: Schema.Number }),
      Result: ContentRow,
      execute: ({ afterId, category, limit }) => sql`SELECT ${columns} FROM content
        WHERE is_active
          ${category === null ? sql`` : sql`AND category = ${category}`}
          ${afterId === null ? sql`` : sql`AND (created_at, id) > (SELECT p.created_at, p.id FROM content p WHERE p.id = ${afterId})`}
        ORDER BY created_at, id
        LIMIT ${limit}`
    })
    return ContentRepo.of({
      findByContentId: (contentId) => byContentId(contentId).pipe(orUnavailable),
      listActive: ({ afterId, category, limit }) => page({ category: category ?? null, afterId: afterId ?? null, limit }).pipe(orUnavailable)
    })
  })
)
