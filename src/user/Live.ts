import { Layer } from "effect"
import { SessionRepoPg } from "../session/SessionRepo.js"
import { UserStatsRepoPg } from "./UserStatsRepo.js"
import { UsersLive } from "./Users.js"

/** The user use cases and their repositories; needs SqlClient and Chain. */
export const UserLive = UsersLive.pipe(Layer.provide(Layer.merge(UserStatsRepoPg, SessionRepoPg)))
