import { Layer } from "effect"
import { ContentRepoPg } from "./ContentRepo.js"
import { ContentsLive } from "./Contents.js"

/** The catalogue's use cases and repository; needs SqlClient and Chain. */
export const ContentLive = ContentsLive.pipe(Layer.provide(ContentRepoPg))
