import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { PaygApi } from "../Api.js"
import { AppConfig } from "../config.js"
import { databaseReachable } from "../db/Health.js"
import { ChainView } from "../chain/ChainView.js"
import { Chain } from "../domain/Chain.js"
import { ServiceUnavailable } from "../http/errors.js"
import { isoNow } from "../http/envelope.js"

export const SystemHttp = HttpApiBuilder.group(PaygApi, "system", (handlers) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    // the head block from the chain view: no chain request while it is fresh
    const chain = yield* ChainView
    const { binding } = yield* Chain
    return handlers
      .handle("health", () => Effect.map(isoNow, (timestamp) => ({ status: "healthy" as const, timestamp, environment: config.nodeEnv })))
      .handle("status", () =>
        Effect.gen(function* () {
          const [db, network] = yield* Effect.all([databaseReachable, Effect.option(chain.status)], { concurrency: 2 })
          const problems = [
            ...(db ? [] : ["the database is unreachable"]),
            ...(Option.isNone(network) ? ["the blockchain is unreachable"] : [])
          ]
          if (Option.isNone(network) || !db) {
            return yield* new ServiceUnavailable({ message: `degraded: ${problems.join("; ")}` })
          }
          return {
            status: "operational" as const,
            timestamp: yield* isoNow,
            network: { chainId: network.value.chainId, blockNumber: Number(network.value.blockNumber) },
            database: { reachable: true },
            authorizationRequired: binding.requireAuthorization
          }
        })
      )
  })
)
