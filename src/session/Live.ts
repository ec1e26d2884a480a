import { Layer } from "effect"
import { ContentRepoPg } from "../content/ContentRepo.js"
import { BackgroundLive } from "./Background.js"
import { SessionRepoPg } from "./SessionRepo.js"
import { SessionsLive } from "./Sessions.js"
import { SettlementOutboxLive } from "./SettlementOutbox.js"
import { SettlementSenderLive } from "./SettlementSender.js"

const Repos = Layer.merge(SessionRepoPg, ContentRepoPg)

/** Sessions and the SettlementOutbox over their repositories and the SettlementSender (which needs Chain, SqlClient, AppConfig). */
const SessionCore = SessionsLive.pipe(
  Layer.provideMerge(SettlementOutboxLive.pipe(Layer.provide(SettlementSenderLive))),
  Layer.provideMerge(Repos)
)

/** The session use cases plus the reconciler and the sweeper running in the background. */
export const SessionLive = BackgroundLive.pipe(Layer.provideMerge(SessionCore))
