import { Context, Effect, Layer, Option } from "effect"
import type { ContentItem } from "../domain/Content.js"
import { ContentId } from "../domain/Content.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { PgPool } from "../db/Database.js"
import { orUnavailable } from "../db/errors.js"
import { CONTENT_COLUMNS } from "../db/queries.js"
import { rawQuery } from "../db/rawQuery.js"

type ContentRow = {
  readonly id: string
  readonly contentId: string
  readonly title: string
  readonly description: string
  readonly fullPrice: string
  readonly totalDuration: number
  readonly category: string
  readonly thumbnailUrl: string | null
  readonly isActive: boolean
  readonly creatorAddress: string
  readonly createdAt: Date
}

export const toContentItem = (r: ContentRow): ContentItem => ({
  id: r.id,
  contentId: ContentId.make(r.contentId),
  title: r.title,
  description: r.description,
  fullPrice: BigInt(r.fullPrice),
  totalDuration: r.totalDuration,
  category: r.category,
  thumbnailUrl: r.thumbnailUrl,
  isActive: r.isActive,
  creatorAddress: r.creatorAddress,
  createdAt: r.createdAt
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



/**
 * The catalogue is read on every listing, detail and session start: single statements, sent straight
 * through the pool (see PgPool).
 */
export const ContentRepoPg = Layer.effect(
  ContentRepo,
  Effect.gen(function* () {
    const pool = yield* PgPool
    const byContentId = `SELECT ${CONTENT_COLUMNS} FROM content WHERE content_id = $1`
    // $1 category or NULL, $2 the id of the previous page's last item or NULL, $3 the limit
    const page = `SELECT ${CONTENT_COLUMNS} FROM content
      WHERE is_active
        AND ($1::text IS NULL OR category = $1)
        AND ($2::text IS NULL OR (created_at, id) > (SELECT p.created_at, p.id FROM content p WHERE p.id = $2))
      ORDER BY created_at, id
      LIMIT $3`
    return ContentRepo.of({
      findByContentId: (contentId) =>
        rawQuery<ContentRow>(pool, byContentId, [contentId], "payg_content_by_id").pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toContentItem)),
          orUnavailable
        ),
      listActive: ({ afterId, category, limit }) =>
        rawQuery<ContentRow>(pool, page, [category ?? null, afterId ?? null, limit], "payg_content_page").pipe(
          Effect.map((rows) => rows.map(toContentItem)),
          orUnavailable
        )
    })
  })
)
