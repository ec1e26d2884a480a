import { Headers, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { normalize } from "../seedErrors.js"
import { type Stage, withHeaders } from "./Middleware.js"

const bearerChallenge = 'Bearer realm="payg"'

const seedBody = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
  response.status < 400
    ? Effect.succeed(response)
    : Effect.map(normalize(request, response), (r) =>
        r.status === 401 && r.headers["www-authenticate"] === undefined ? withHeaders(r, Headers.set(r.headers, "www-authenticate", bearerChallenge)) : r
      )

/**
 * Every error answer gets the seed's body `{error, message, statusCode, timestamp}` (a failure is
 * rendered into its response by the platform first), its headers kept; a 401 carries the bearer
 * challenge. Placed before compression in the chain, so the body is rewritten before it is compressed.
 */
export const seedErrorBody: Stage = { answer: seedBody }
