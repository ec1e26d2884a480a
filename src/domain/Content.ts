import { Schema } from "effect"

/** A catalogue id such as `intro-to-defi`. */
export const ContentId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: () => "must be 1-128 letters, digits, '.', '_' or '-'"
  }),
  Schema.brand("ContentId")
)
export type ContentId = typeof ContentId.Type

export interface ContentItem {
  /** Internal row id (the seed's `id`, e.g. "clp123456789"). */
  readonly id: string
  readonly contentId: ContentId
  readonly title: string
  readonly description: string
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly category: string
  readonly thumbnailUrl: string | null
  readonly isActive: boolean
  readonly creatorAddress: string
  readonly createdAt: Date
}
