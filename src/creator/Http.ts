import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaygApi } from "../Api.js"
import { ok } from "../http/envelope.js"
import { httpErrors } from "../http/mapErrors.js"
import { DEFAULT_DAYS, earningsView } from "./Api.js"
import { Creators } from "./Creators.js"

export const CreatorHttp = HttpApiBuilder.group(PaygApi, "creator", (handlers) =>
  Effect.gen(function* () {
    const creators = yield* Creators
    // public: the wallet's earnings and the settlement events are on-chain data anyway
    return handlers.handle("earnings", ({ path, urlParams }) =>
      creators.earnings(path.creatorAddress, urlParams.days ?? DEFAULT_DAYS).pipe(Effect.map(earningsView), Effect.flatMap(ok), httpErrors)
    )
  })
)
