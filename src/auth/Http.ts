import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaygApi } from "../Api.js"
import { ok } from "../http/envelope.js"
import { BadRequest, ServiceUnavailable, Unauthorized } from "../http/errors.js"
import { SignIn } from "./SignIn.js"

export const AuthHttp = HttpApiBuilder.group(PaygApi, "auth", (handlers) =>
  Effect.gen(function* () {
    const signIn = yield* SignIn
    return handlers
      .handle("nonce", () =>
        signIn.nonce().pipe(
          Effect.flatMap((grant) => ok({ nonce: grant.nonce, expiresAt: grant.expiresAt.toISOString(), chainId: grant.chainId })),
          Effect.catchTag("DatabaseUnavailable", () => Effect.fail(new ServiceUnavailable({ message: "the database is unavailable" })))
        )
      )
      .handle("verify", ({ payload }) =>
        signIn.verify(payload.message, payload.signature).pipe(
          Effect.flatMap((issued) => ok({ token: issued.token, address: issued.address, expiresAt: issued.expiresAt.toISOString() })),
          Effect.catchTags({
            MalformedSignIn: (e) => Effect.fail(new BadRequest({ message: e.message })),
            SignInRejected: (e) => Effect.fail(new Unauthorized({ message: e.message })),
            DatabaseUnavailable: () => Effect.fail(new ServiceUnavailable({ message: "the database is unavailable" }))
          })
        )
      )
  })
)
