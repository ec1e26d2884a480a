import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { PaygApi } from "./Api.js"
import { AuthHttp } from "./auth/Http.js"
import { ContentHttp, contentHotReads } from "./content/Http.js"
import { HotReads, makeHotReads } from "./http/HotReads.js"
import { SessionHttp, sessionHotReads } from "./session/Http.js"
import { SystemHttp } from "./system/Http.js"
import { UserHttp } from "./user/Http.js"

/** Every group's handlers, bound to the API definition. The services they call come from AppLive. */
export const ApiLive = HttpApiBuilder.api(PaygApi).pipe(Layer.provide([SystemHttp, SessionHttp, UserHttp, ContentHttp, AuthHttp]))

/** The hot GET lane in front of the router (src/http/HotReads.ts): the session detail and the catalogue. */
export const HotReadsLive = Layer.effect(
  HotReads,
  Effect.flatMap(Effect.all([sessionHotReads, contentHotReads]), (routes) => makeHotReads(routes.flat()))
)
