import { HttpApiBuilder } from "@effect/platform"
import { Layer } from "effect"
import { PaygApi } from "./Api.js"
import { SystemHttp } from "./system/Http.js"

/** Every group's handlers, bound to the API definition. */
export const ApiLive = HttpApiBuilder.api(PaygApi).pipe(Layer.provide([SystemHttp]))
