import { HttpApi, OpenApi } from "@effect/platform"
import { AuthApi } from "./auth/Api.js"
import { ContentApi } from "./content/Api.js"
import { CreatorApi } from "./creator/Api.js"
import { AdminContentApi } from "./content/AdminApi.js"
import { documentHttp } from "./http/openapi.js"
import { SessionApi } from "./session/Api.js"
import { SystemApi } from "./system/Api.js"
import { UserApi } from "./user/Api.js"
import { WatchApi } from "./watch/Api.js"

/** The whole REST API: one definition shared by the server, the typed client and the OpenAPI document. */
export class PaygApi extends HttpApi.make("payg")
  .add(SystemApi)
  .add(SessionApi)
  .add(UserApi)
  .add(ContentApi)
  .add(AuthApi)
  .add(CreatorApi)
  .add(AdminContentApi)
  .add(WatchApi)
  .annotate(OpenApi.Title, "payg: pay-as-you-consume streaming payments")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(OpenApi.Transform, documentHttp) {}
