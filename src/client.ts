import { HttpApiClient } from "@effect/platform"
import { PaygApi } from "./Api.js"

/**
 * The typed client of this API, for a browser or another service: `HttpApiClient` over the very
 * definition the server serves (PaygApi), so requests, answers and the declared errors of each
 * endpoint are typed. Its import graph holds no server code (no node:, pg, SQL or chain adapters):
 * test/client.test.ts proves it. It needs an `HttpClient` (FetchHttpClient.layer in a browser).
 *
 * Errors: each endpoint fails with the API errors it declares (BadRequest, NotFound, ...: the seed's
 * body decoded, `_tag` and `message`), plus HttpClientError and ParseError.
 */
export const makePaygClient = (baseUrl: string) => HttpApiClient.make(PaygApi, { baseUrl })

export { PaygApi } from "./Api.js"
export {
  BadRequest,
  Conflict,
  Forbidden,
  NotFound,
  PaymentRequired,
  ServiceUnavailable,
  Unauthorized
} from "./http/errors.js"
/** The branded inputs some endpoints take: decode a plain string with `Schema.decodeSync(...)`. */
export { AddressFromString } from "./domain/Address.js"
export { ContentId } from "./domain/Content.js"
export { SessionId } from "./domain/Session.js"
