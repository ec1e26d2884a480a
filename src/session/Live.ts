import { Layer } from "effect"
import { ContentRepoPg } from "../content/ContentRepo.js"
import { BackgroundLive } from "./Background.js"
import { SessionRepoPg } from "./SessionRepo.js"
import { SessionsLive } from "./Sessions.js"
import { SettlementOutboxLive } from "./SettlementOutbox.js"
import { SettlementRecorderLive } from "./SettlementRecorder.js"
import { SettlementSenderLive } from "./SettlementSender.js"

const Repos = Layer.merge(SessionRepoPg, ContentRepoPg)

/**
 * Sessions and the SettlementOutbox over their repositories, the SettlementSender (which needs Chain,
 * SqlClient, AppConfig) and the SettlementRecorder both write outcomes through.
 */
const SessionCore = SessionsLive.pipe(
  Layer.provideMerge(SettlementOutboxLive.pipe(Layer.provide(SettlementSenderLive), Layer.provideMerge(SettlementRecorderLive))),
  Layer.provideMerge(Repos)
)

/** The session use cases plus the reconciler and the sweeper running in the background. */
export const SessionLive = BackgroundLive.pipe(Layer.provideMerge(SessionCore))
