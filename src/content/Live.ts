import { Layer } from "effect"
import { ContentRepoPg } from "./ContentRepo.js"
import { ContentsLive } from "./Contents.js"
import { ContentAdminLive as Admin } from "./Admin.js"
import { AdminRepoPg } from "./AdminRepo.js"
import { ListingOutboxLive } from "./ListingOutbox.js"
import { ListingReconcilerLive } from "./ListingReconciler.js"

/** The catalogue's use cases and repository; needs SqlClient and Chain. */
export const ContentLive = ContentsLive.pipe(Layer.provide(ContentRepoPg))

/** The operators' catalogue management: its use cases, repositories, listing outbox and its reconciler; needs SqlClient, Chain and AppConfig. */
export const CatalogueAdminLive = Layer.merge(Admin, ListingReconcilerLive).pipe(
  Layer.provideMerge(ListingOutboxLive),
  Layer.provideMerge(Layer.merge(AdminRepoPg, ContentRepoPg))
)
