import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { type CatalogueEntry, demoCatalogue } from "../content/catalogue.js"

/** Inserts the catalogue entries that are not there yet; existing rows are left as they are. */
export const seedCatalogue = (entries: ReadonlyArray<CatalogueEntry> = demoCatalogue) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = entries.map((e) => ({
      id: e.id,
      content_id: e.contentId,
      title: e.title,
      description: e.description,
      full_price: e.fullPrice.toString(),
      total_duration: e.totalDuration,
      category: e.category,
      thumbnail_url: e.thumbnailUrl,
      is_active: true,
      creator_address: e.creatorAddress,
      created_at: e.createdAt
    }))
    const inserted = yield* sql<{ readonly contentId: string }>`
      INSERT INTO content ${sql.insert(rows)}
      ON CONFLICT (content_id) DO NOTHING
      RETURNING content_id AS "contentId"`
    return inserted.length
  }).pipe(Effect.withSpan("Database.seedCatalogue"))
