import { HttpApiBuilder } from "@effect/platform"
import { Duration, Effect } from "effect"
import { PaygApi } from "../Api.js"
import { demoAccounts } from "../chain/ChainInProcess.js"
import { AppConfig, authRequired } from "../config.js"
import { seedViewer } from "../content/catalogue.js"
import { checksum, toAddress } from "../domain/Address.js"
import { Chain } from "../domain/Chain.js"
import { ok } from "../http/envelope.js"

/** Seconds between the page's heartbeats: a third of the default grace, so two may be lost. */
export const HEARTBEAT_EVERY_SECONDS = 10

export const WatchHttp = HttpApiBuilder.group(PaygApi, "watch", (handlers) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { binding } = yield* Chain
    const required = authRequired(config)
    // picking a viewer is only possible where the API acts for the address named: development, no auth
    const demoViewers = !required && binding.kind === "in-process" ? [toAddress(seedViewer), ...demoAccounts].map(checksum) : []
    const answer = {
      authRequired: required,
      authorizationRequired: binding.requireAuthorization,
      chainId: binding.chainId,
      demoViewers,
      heartbeatEvery: HEARTBEAT_EVERY_SECONDS,
      heartbeatGrace: Math.floor(Duration.toSeconds(config.heartbeat.grace))
    }
    return handlers.handle("config", () => ok(answer))
  })
)
