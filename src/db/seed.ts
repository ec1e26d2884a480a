import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { type CatalogueEntry, demoCatalogue } from "../content/catalogue.js"

/** The INSERT of one entry (active; created now when the entry has no date), to be completed with its ON CONFLICT. */
const insertEntry = (sql: SqlClient.SqlClient, e: CatalogueEntry) => sql`
  INSERT INTO content (id, content_id, title, description, full_price, total_duration, category, thumbnail_url, is_active, creator_address, created_at)
  VALUES (${e.id}, ${e.contentId}, ${e.title}, ${e.description}, ${e.fullPrice.toString()}, ${e.totalDuration}, ${e.category},
          ${e.thumbnailUrl}, true, ${e.creatorAddress}, COALESCE(${e.createdAt ?? null}::timestamptz, now()))`

/** Inserts the catalogue entries that are not there yet; existing rows are left as they are. */
export const seedCatalogue = (entries: ReadonlyArray<CatalogueEntry> = demoCatalogue) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let added = 0
    for (const e of entries) {
      const inserted = yield* sql`${insertEntry(sql, e)} ON CONFLICT (content_id) DO NOTHING RETURNING content_id`
      added += inserted.length
    }
    return added
  }).pipe(Effect.withSpan("Database.seedCatalogue"))

export type RowChange = "inserted" | "updated" | "unchanged"

/**
 * Inserts each entry, or updates its row (matched by contentId) where a field differs; reactivates it.
 * One transaction; a row equal to its entry is not written. The row id and creation date stay the first ones.
 */
export const upsertCatalogue = (entries: ReadonlyArray<CatalogueEntry>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = new Map<string, RowChange>()
    yield* sql.withTransaction(Effect.gen(function* () {
    for (const e of entries) {
      const written = yield* sql<{ readonly inserted: boolean }>`${insertEntry(sql, e)}
        ON CONFLICT (content_id) DO UPDATE SET
          title = EXCLUDED.title, description = EXCLUDED.description, full_price = EXCLUDED.full_price,
          total_duration = EXCLUDED.total_duration, category = EXCLUDED.category, thumbnail_url = EXCLUDED.thumbnail_url,
          is_active = true, creator_address = EXCLUDED.creator_address
        WHERE (content.title, content.description, content.full_price, content.total_duration, content.category,
               content.thumbnail_url, content.is_active, content.creator_address)
          IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.full_price, EXCLUDED.total_duration,
               EXCLUDED.category, EXCLUDED.thumbnail_url, true, EXCLUDED.creator_address)
        RETURNING (xmax = 0) AS inserted`
      const row = written[0]
      changes.set(e.contentId, row === undefined ? "unchanged" : row.inserted ? "inserted" : "updated")
    }
    }))
    const result: ReadonlyMap<string, RowChange> = changes
    return result
  }).pipe(Effect.withSpan("Database.upsertCatalogue"))
