import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ServiceUnavailableError } from "../http/errors.js"

export const Health = Schema.Struct({
  status: Schema.Literal("healthy"),
  timestamp: Schema.String,
  environment: Schema.String
})

export const Status = Schema.Struct({
  status: Schema.Literal("operational"),
  timestamp: Schema.String,
  network: Schema.Struct({
    chainId: Schema.Number,
    blockNumber: Schema.Number
  }),
  database: Schema.Struct({ reachable: Schema.Boolean })
})

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
  .add(HttpApiEndpoint.get("status", "/api/status").addSuccess(Status).addError(ServiceUnavailableError))
  .annotate(OpenApi.Description, "Liveness and the state of the database and chain") {}
