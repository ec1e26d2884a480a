import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaygApi } from "../Api.js"
import { toAddress } from "../domain/Address.js"
import type { ContentNotFound, DatabaseUnavailable, NoContentManager } from "../domain/errors.js"
import { ok } from "../http/envelope.js"
import { Conflict, NotFound, ServiceUnavailable } from "../http/errors.js"
import { type Changed, ContentAdmin, type ContentExists } from "./Admin.js"
import { adminView } from "./AdminApi.js"

const unavailable = {
  NoContentManager: (e: NoContentManager) => Effect.fail(new ServiceUnavailable({ message: `${e.message}; nothing was changed` })),
  DatabaseUnavailable: (_: DatabaseUnavailable) => Effect.fail(new ServiceUnavailable({ message: "the database is unavailable" }))
}

/** A change of an existing item: its outcome, or 404 / 503. */
const changed = (effect: Effect.Effect<Changed, NoContentManager | DatabaseUnavailable | ContentNotFound>) =>
  effect.pipe(
    Effect.flatMap((c) => ok(adminView(c))),
    Effect.catchTags({
      ...unavailable,
      ContentNotFound: (e) => Effect.fail(new NotFound({ message: `content '${e.contentId}' is not in the catalogue` }))
    })
  )

/** A new item: its outcome, or 409 / 503. */
const created = (effect: Effect.Effect<Changed, NoContentManager | DatabaseUnavailable | ContentExists>) =>
  effect.pipe(
    Effect.flatMap((c) => ok(adminView(c))),
    Effect.catchTags({ ...unavailable, ContentExists: (e) => Effect.fail(new Conflict({ message: e.message })) })
  )

export const AdminContentHttp = HttpApiBuilder.group(PaygApi, "adminContent", (handlers) =>
  Effect.gen(function* () {
    const admin = yield* ContentAdmin
    return handlers
      .handle("create", ({ payload }) => created(admin.create({ ...payload, creatorAddress: toAddress(payload.creatorAddress) })))
      .handle("update", ({ path, payload }) =>
        changed(
          admin.update(path.contentId, { ...payload, creatorAddress: payload.creatorAddress === undefined ? undefined : toAddress(payload.creatorAddress) })
        )
      )
      .handle("activate", ({ path }) => changed(admin.activate(path.contentId)))
      .handle("delist", ({ path }) => changed(admin.delist(path.contentId)))
  })
)
