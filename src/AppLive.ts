import { Layer } from "effect"
import { ApiLive } from "./ApiLive.js"
import type { AppConfig } from "./config.js"
import { DatabaseLive } from "./db/Database.js"
import type { Chain } from "./domain/Chain.js"
import { StartupLive } from "./Startup.js"

/**
 * Everything but the listening socket: handlers, services, the database and the given chain.
 * The server is built on top of this, so it never accepts a request before these are ready.
 */
export const makeAppLive = <E, R>(chain: Layer.Layer<Chain, E, R | AppConfig>) =>
  ApiLive.pipe(Layer.provide(StartupLive), Layer.provideMerge(Layer.merge(DatabaseLive, chain)))
