import { Layer } from "effect"
import { CreatorRepoPg } from "./CreatorRepo.js"
import { CreatorsLive } from "./Creators.js"

/** The creators' use cases and repository; needs SqlClient and Chain. */
export const CreatorLive = CreatorsLive.pipe(Layer.provide(CreatorRepoPg))
