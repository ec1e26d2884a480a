import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaygApi } from "../Api.js"
import { Caller } from "../auth/Caller.js"
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
      // private (the endpoint declares Authentication): only a caller that may act for the address reads its usage
      .handle("stats", ({ path }) =>
        Effect.flatMap(Caller, (caller) => caller.actingFor(path.userAddress)).pipe(
          Effect.flatMap(users.stats),
          Effect.map(statsView),
          Effect.flatMap(ok),
          httpErrors
        )
      )
  })
)
