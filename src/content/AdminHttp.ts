import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaygApi } from "../Api.js"
import { Operator } from "../admin/Operator.js"
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

/** Logs who changed what, with the outcome (the operator's address: every change is attributable). */
const logged = (action: string) => <E>(effect: Effect.Effect<Changed, E>) =>
  Effect.flatMap(Operator, (operator) =>
    Effect.tap(effect, (c) =>
      Effect.logInfo("catalogue changed", { operator: operator.address, action, contentId: c.item.contentId, listing: c.listing._tag })
    )
  )

/** A change of an existing item: its outcome, or 404 / 503. */
const changed = (action: string, effect: Effect.Effect<Changed, NoContentManager | DatabaseUnavailable | ContentNotFound>) =>
  logged(action)(effect).pipe(
    Effect.flatMap((c) => ok(adminView(c))),
    Effect.catchTags({
      ...unavailable,
      ContentNotFound: (e) => Effect.fail(new NotFound({ message: `content '${e.contentId}' is not in the catalogue` }))
    })
  )

/** A new item: its outcome, or 409 / 503. */
const created = (effect: Effect.Effect<Changed, NoContentManager | DatabaseUnavailable | ContentExists>) =>
  logged("create")(effect).pipe(
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
          "update",
          admin.update(path.contentId, { ...payload, creatorAddress: payload.creatorAddress === undefined ? undefined : toAddress(payload.creatorAddress) })
        )
      )
      .handle("activate", ({ path }) => changed("activate", admin.activate(path.contentId)))
      .handle("delist", ({ path }) => changed("delist", admin.delist(path.contentId)))
  })
)
