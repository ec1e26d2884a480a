import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { PaygApi } from "../Api.js"
import { ok } from "../http/envelope.js"
import { httpErrors } from "../http/mapErrors.js"
import { DEFAULT_PAGE_LIMIT, detailView, pageView } from "./Api.js"
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
