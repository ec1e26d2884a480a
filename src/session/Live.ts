import { Layer } from "effect"
import { ContentRepoPg } from "../content/ContentRepo.js"
import { BackgroundLive } from "./Background.js"
import { SessionRepoPg } from "./SessionRepo.js"
import { SessionsLive } from "./Sessions.js"
import { SettlementsLive } from "./Settlements.js"
import { SettlerLive } from "./Settler.js"

const Repos = Layer.merge(SessionRepoPg, ContentRepoPg)

/** Sessions and Settlements over their repositories and the settler (which needs Chain, SqlClient, AppConfig). */
export const SessionCore = SessionsLive.pipe(
  Layer.provideMerge(SettlementsLive.pipe(Layer.provide(SettlerLive))),
  Layer.provideMerge(Repos)
)

/** The session use cases plus the reconciler and the sweeper running in the background. */
export const SessionLive = BackgroundLive.pipe(Layer.provideMerge(SessionCore))
