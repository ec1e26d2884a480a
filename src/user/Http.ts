import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaygApi } from "../Api.js"
import { actsFor } from "../auth/Ownership.js"
import { ok } from "../http/envelope.js"
import { httpErrors } from "../http/mapErrors.js"
import { balanceView, statsView } from "./Api.js"
import { Users } from "./Users.js"

export const UserHttp = HttpApiBuilder.group(PaygApi, "user", (handlers) =>
  Effect.gen(function* () {
    const users = yield* Users
    return handlers
      // public: the vault's balances are on-chain data anyway
      .handle("balance", ({ path }) => users.balance(path.userAddress).pipe(Effect.map(balanceView), Effect.flatMap(ok), httpErrors))
      // private: only a request that may act for the address reads its usage
      .handle("stats", ({ path }) =>
        actsFor(path.userAddress).pipe(
          Effect.zipRight(users.stats(path.userAddress)),
          Effect.map(statsView),
          Effect.flatMap(ok),
          httpErrors
        )
      )
  })
)
