import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, Schema } from "effect"
import type { Address } from "../domain/Address.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { orUnavailable } from "../db/errors.js"

/** What one content item earned its creator: paid sessions and the amount credited. */
export interface ContentEarnings {
  readonly contentId: string
  readonly title: string
  readonly sessions: number
  readonly earned: bigint
}

/** What a creator earned on one UTC day (the day each payment was confirmed). */
export interface DayEarnings {
  /** YYYY-MM-DD, UTC. */
  readonly day: string
  readonly sessions: number
  readonly earned: bigint
}

/**
 * A creator's earnings from our records: the CONFIRMED settlements credited to them (the creator of
 * the content when the settlement was recorded, `settlements.creator_address`), counted at what the
 * chain took from the viewer (`from_yield + from_principal`).
 */
export class CreatorRepo extends Context.Tag("payg/CreatorRepo")<
  CreatorRepo,
  {
    readonly byContent: (creator: Address) => Effect.Effect<ReadonlyArray<ContentEarnings>, DatabaseUnavailable>
    /** The days from `since` (epoch ms) on that have earnings, newest first. */
    readonly byDay: (creator: Address, since: number) => Effect.Effect<ReadonlyArray<DayEarnings>, DatabaseUnavailable>
  }
>() {}

const ContentRow = Schema.Struct({ contentId: Schema.String, title: Schema.String, sessions: Schema.Number, earned: Schema.BigInt })
const DayRow = Schema.Struct({ day: Schema.String, sessions: Schema.Number, earned: Schema.BigInt })

export const CreatorRepoPg = Layer.effect(
  CreatorRepo,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const content = SqlSchema.findAll({
      Request: Schema.String,
      Result: ContentRow,
      execute: (creator) => sql`
        SELECT t.content_id AS "contentId", COALESCE(max(c.title), t.content_id) AS title, count(*)::int AS sessions,
               sum(t.from_yield + t.from_principal)::text AS earned
        FROM settlements t
        LEFT JOIN content c ON c.content_id = t.content_id
        WHERE t.creator_address = ${creator} AND t.status = 'CONFIRMED'
        GROUP BY t.content_id
        ORDER BY sum(t.from_yield + t.from_principal) DESC, t.content_id`
    })
    const days = SqlSchema.findAll({
      Request: Schema.Struct({ creator: Schema.String, since: Schema.Number }),
      Result: DayRow,
      execute: ({ creator, since }) => sql`
        SELECT to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS sessions,
               sum(t.from_yield + t.from_principal)::text AS earned
        FROM settlements t
        WHERE t.creator_address = ${creator} AND t.status = 'CONFIRMED' AND t.updated_at >= ${new Date(since)}
        GROUP BY 1
        ORDER BY 1 DESC`
    })
    return CreatorRepo.of({
      byContent: (creator) => content(creator).pipe(orUnavailable),
      byDay: (creator, since) => days({ creator, since }).pipe(orUnavailable)
    })
  })
)
