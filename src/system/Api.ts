import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { documented } from "../http/apiParts.js"
import { Timestamp } from "../http/envelope.js"
import { ServiceUnavailableError } from "../http/errors.js"

export const Health = Schema.Struct({
  status: Schema.Literal("healthy"),
  timestamp: Timestamp,
  environment: Schema.String
})

export const Status = Schema.Struct({
  status: Schema.Literal("operational"),
  timestamp: Timestamp,
  network: Schema.Struct({
    chainId: Schema.Int,
    blockNumber: Schema.Int
  }),
  database: Schema.Struct({ reachable: Schema.Boolean }),
  authorizationRequired: Schema.Boolean.annotations({
    description:
      "The StreamingWallet's immutable requireAuthorization flag: when true, every session needs the viewer's signed authorization (POST /api/session/quote, then start with `authorization`)"
  })
})

export class SystemApi extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Health)
      .annotateContext(documented("Liveness", "200 while the process serves requests; checks nothing else (not rate limited)"))
  )
  .add(
    HttpApiEndpoint.get("status", "/api/status")
      .addSuccess(Status)
      .addError(ServiceUnavailableError)
      .annotateContext(documented("Database and chain status", "The chain's id and latest block, whether the database answers, and whether sessions must be signed by their viewers; 503 naming what is unreachable"))
  )
  .annotate(OpenApi.Description, "Liveness and the state of the database and chain") {}
