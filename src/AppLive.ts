import { Layer } from "effect"
import { ApiLive } from "./ApiLive.js"
import { ChainViewLive } from "./chain/ChainView.js"
import { AuthLive } from "./auth/AuthLive.js"
import { TokensLive } from "./auth/Tokens.js"
import type { AppConfig } from "./config.js"
import { CreatorLive } from "./creator/Live.js"
import { CatalogueAdminLive, ContentLive } from "./content/Live.js"
import { OperatorAuthenticationLive } from "./admin/OperatorLive.js"
import { DatabaseLive } from "./db/Database.js"
import { HttpPipelineLive } from "./http/Pipeline.js"
import type { Chain } from "./domain/Chain.js"
import { SessionLive } from "./session/Live.js"
import { StartupLive } from "./Startup.js"
import { UserLive } from "./user/Live.js"
import { WebhooksLive } from "./webhooks/Webhooks.js"

/** The use-case services of every feature (they need only SqlClient, Chain and AppConfig). */
export const ServicesLive = Layer.mergeAll(SessionLive, UserLive, ContentLive, CatalogueAdminLive, CreatorLive, WebhooksLive)

/**
 * Everything but the listening socket: handlers, services, the database and the given chain.
 * The server is built on top of this, so it never accepts a request before these are ready.
 */
export const makeAppLive = <E, R>(chain: Layer.Layer<Chain, E, R | AppConfig>) =>
  ApiLive.pipe(
    // sign-in, tokens and the real ownership check (OwnershipLive): open in development, enforced when auth is required
    Layer.provideMerge(AuthLive),
    Layer.provideMerge(OperatorAuthenticationLive),
    Layer.provideMerge(ServicesLive),
    Layer.provide(StartupLive),
    // the HTTP pipeline's state (rate-limit store: Redis is reached before the server listens)
    Layer.provideMerge(HttpPipelineLive),
    // the chain as last seen (balances, allowances, listings, head), followed block by block
    Layer.provideMerge(ChainViewLive),
    // the signing key is checked alongside the database and the chain, so a production start without
    // JWT_SECRET fails at once (AuthLive reuses this very layer: one key per process)
    Layer.provideMerge(Layer.mergeAll(DatabaseLive, chain, TokensLive))
  )
