import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, Schema } from "effect"
import type { Address } from "../domain/Address.js"
import { ForbiddenError, UnauthorizedError } from "../http/errors.js"

/** The operator a request of the admin routes comes from (an address of ADMIN_ADDRESSES). */
export class Operator extends Context.Tag("payg/Operator")<Operator, { readonly address: Address }>() {}

/**
 * The admin routes declare this middleware: a Sign-In with Ethereum token (the viewers' sign-in) whose
 * address is one of ADMIN_ADDRESSES. Unlike the viewers' routes it is enforced in every mode: no
 * token or an invalid one is 401, a valid token of any other address (a viewer's) is 403.
 */
export class OperatorAuthentication extends HttpApiMiddleware.Tag<OperatorAuthentication>()("payg/OperatorAuthentication", {
  failure: Schema.Union(UnauthorizedError, ForbiddenError),
  provides: Operator,
  security: {
    operatorBearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "A Sign-In with Ethereum token (GET /api/auth/nonce, then POST /api/auth/verify) of an address listed in ADMIN_ADDRESSES; a viewer's token is 403"
      ),
      HttpApiSecurity.annotate(OpenApi.Format, "JWT")
    )
  }
}) {}

