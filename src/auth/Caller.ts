import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, type Effect } from "effect"
import type { Address } from "../domain/Address.js"
import { type Forbidden, UnauthorizedError } from "../http/errors.js"

/**
 * Who sent the request, as the `Authentication` middleware established it. A handler of a route that
 * acts for a user gets the address it may act for only through `actingFor`: the address the request
 * names when the caller may act for it, else a 403.
 */
export class Caller extends Context.Tag("payg/Caller")<
  Caller,
  {
    readonly actingFor: (address: Address) => Effect.Effect<Address, Forbidden>
  }
>() {}

/**
 * The routes that act for a user declare this middleware (and nothing else does): it reads the bearer
 * token, refuses an invalid one (401), and without one refuses the request when auth is required
 * (AUTH_REQUIRED, on in production) or, in development, lets it act for the address it names.
 * OpenAPI shows the `bearer` scheme on exactly the operations that declare it.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("payg/Authentication", {
  failure: UnauthorizedError,
  provides: Caller,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "A token from Sign-In with Ethereum (GET /api/auth/nonce, then POST /api/auth/verify). Required in production; a token for another address is 403"
      ),
      HttpApiSecurity.annotate(OpenApi.Format, "JWT")
    )
  }
}) {}
