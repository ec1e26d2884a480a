import { HttpApi, OpenApi } from "@effect/platform"
import { SystemApi } from "./system/Api.js"

/** The whole REST API: one definition shared by the server, the typed client and the OpenAPI document. */
export class PaygApi extends HttpApi.make("payg")
  .add(SystemApi)
  .annotate(OpenApi.Title, "payg: pay-as-you-consume streaming payments")
  .annotate(OpenApi.Version, "0.1.0") {}
