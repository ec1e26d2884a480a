import { Layer } from "effect"
import { ApiLive } from "./ApiLive.js"
import { OwnershipOpen } from "./auth/Ownership.js"
import type { AppConfig } from "./config.js"
import { ContentLive } from "./content/Live.js"
import { DatabaseLive } from "./db/Database.js"
import type { Chain } from "./domain/Chain.js"
import { SessionLive } from "./session/Live.js"
import { StartupLive } from "./Startup.js"
import { UserLive } from "./user/Live.js"

/** The use-case services of every feature (they need only SqlClient, Chain and AppConfig). */
export const ServicesLive = Layer.mergeAll(SessionLive, UserLive, ContentLive)

/**
 * Everything but the listening socket: handlers, services, the database and the given chain.
 * The server is built on top of this, so it never accepts a request before these are ready.
 */
export const makeAppLive = <E, R>(chain: Layer.Layer<Chain, E, R | AppConfig>) =>
  ApiLive.pipe(
    Layer.provide(OwnershipOpen),
    Layer.provideMerge(ServicesLive),
    Layer.provide(StartupLive),
    Layer.provideMerge(Layer.merge(DatabaseLive, chain))
  )
