import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { documented } from "../http/apiParts.js"
import { Envelope } from "../http/envelope.js"

/** What the watch page (web/, served at /watch) needs to know before it acts for a viewer. */
export const WatchConfig = Schema.Struct({
  authRequired: Schema.Boolean.annotations({ description: "True: sign in with a wallet (SIWE); false: the API acts for the address a request names" }),
  authorizationRequired: Schema.Boolean.annotations({
    description:
      "The StreamingWallet's requireAuthorization flag (as /api/status): true, the page has each session signed by the viewer's wallet (POST /api/session/quote, eth_signTypedData_v4, then start with `authorization`)"
  }),
  chainId: Schema.Int,
  demoViewers: Schema.Array(Schema.String).annotations({
    description: "The funded demo viewers of the in-process development chain; empty on any other chain or when auth is required"
  }),
  heartbeatEvery: Schema.Int.annotations({ description: "Seconds between the page's heartbeats (POST /api/session/heartbeat)" }),
  heartbeatGrace: Schema.Int.annotations({ description: "HEARTBEAT_GRACE in seconds" })
}).annotations({
  examples: [{ authRequired: true, authorizationRequired: true, chainId: 31337, demoViewers: [], heartbeatEvery: 10, heartbeatGrace: 30 }]
})

export class WatchApi extends HttpApiGroup.make("watch")
  .add(
    HttpApiEndpoint.get("config", "/api/watch/config")
      .addSuccess(Envelope(WatchConfig))
      .annotateContext(
        documented(
          "The watch page's settings",
          "Whether sign-in is required, whether sessions must be signed by their viewers, the chain id, the demo viewers to pick from on the development chain and the heartbeat timing. Public: nothing in it is private. The page itself is GET /watch (static files, not part of this document)"
        )
      )
  )
  .annotate(OpenApi.Description, "The watch page's configuration") {}
