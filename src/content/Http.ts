import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, Option, Schema } from "effect"
import { PaygApi } from "../Api.js"
import { ok } from "../http/envelope.js"
import { type HotRead, wireJson } from "../http/HotReads.js"
import { httpErrors } from "../http/mapErrors.js"
import { ContentCursor, ContentListParams, DEFAULT_PAGE_LIMIT, detailView, pageView } from "./Api.js"
import { Contents } from "./Contents.js"

export const ContentHttp = HttpApiBuilder.group(PaygApi, "content", (handlers) =>
  Effect.gen(function* () {
    const contents = yield* Contents
    return handlers
      .handle("list", ({ urlParams }) =>
        contents
          .list({
            category: Option.fromNullable(urlParams.category),
            limit: urlParams.limit ?? DEFAULT_PAGE_LIMIT,
            afterId: Option.fromNullable(urlParams.cursor)
          })
          .pipe(
            Effect.map(pageView),
            Effect.flatMap(({ items, nextCursor }) => Effect.map(ok(items), (envelope) => ({ ...envelope, nextCursor }))),
            httpErrors
          )
      )
      .handle("get", ({ path }) => contents.detail(path.contentId).pipe(Effect.map(detailView), Effect.flatMap(ok), httpErrors))
  })
)

const decodeListQuery = Schema.decodeUnknownOption(ContentListParams)
const encodeCursor = Schema.encodeEither(Schema.NullOr(ContentCursor))

/** GET /api/content in the hot lane (src/http/HotReads.ts): the "list" handler's success path. */
export const contentHotReads = Effect.gen(function* () {
  const contents = yield* Contents
  const read: HotRead = {
    route: "/api/content",
    match: (path) => (path === "/api/content" ? [] : undefined),
    handle: (_params, query) => {
      const q = decodeListQuery(query)
      if (Option.isNone(q)) return Effect.succeedNone
      return contents
        .list({ category: Option.fromNullable(q.value.category), limit: q.value.limit ?? DEFAULT_PAGE_LIMIT, afterId: Option.fromNullable(q.value.cursor) })
        .pipe(
          Effect.map(pageView),
          // the body of ContentList, encoded: the cursor through its schema, the rest by wireJson
          Effect.flatMap(({ items, nextCursor }) =>
            Either.match(encodeCursor(nextCursor), {
              onLeft: () => Effect.succeedNone,
              onRight: (cursor) => Effect.flatMap(ok(items), (envelope) => wireJson({ ...envelope, nextCursor: cursor }))
            })
          ),
          Effect.orElseSucceed(() => Option.none())
        )
    }
  }
  return [read]
})
