import { HttpApiBuilder } from "@effect/platform"
import { Layer } from "effect"
import { PaygApi } from "./Api.js"
import { AuthHttp } from "./auth/Http.js"
import { ContentHttp } from "./content/Http.js"
import { CreatorHttp } from "./creator/Http.js"
import { AdminContentHttp } from "./content/AdminHttp.js"
import { SessionHttp } from "./session/Http.js"
import { SystemHttp } from "./system/Http.js"
import { UserHttp } from "./user/Http.js"
import { WatchHttp } from "./watch/Http.js"

/** Every group's handlers, bound to the API definition. The services they call come from AppLive. */
export const ApiLive = HttpApiBuilder.api(PaygApi).pipe(Layer.provide([SystemHttp, SessionHttp, UserHttp, ContentHttp, AuthHttp, CreatorHttp, AdminContentHttp, WatchHttp]))

