import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AddressFromString } from "../domain/Address.js"
import { ContentId } from "../domain/Content.js"
import { PageLimit } from "../content/Api.js"
import { SessionId, SessionStatus } from "../domain/Session.js"
import { Authentication } from "../auth/Caller.js"
import { AmountString, documented, LookupErrors, strict, TransitionErrors, UserPath } from "../http/apiParts.js"
import { BadRequestError, ForbiddenError, PaymentRequiredError, ServiceUnavailableError } from "../http/errors.js"
import { Envelope, Timestamp } from "../http/envelope.js"

const TxHash = Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String).pipe(
  Schema.pattern(/^0x[0-9a-fA-F]{64}$/, { message: () => "must be 0x followed by 64 hexadecimal digits" })
)

/** A uint256 on the wire: decimal digits (no sign, no exponent), below 2^256. */
const Uint256String = Schema.compose(
  Schema.String.pipe(Schema.pattern(/^[0-9]{1,78}$/, { message: () => "must be decimal digits" })),
  Schema.BigInt
).pipe(Schema.filter((n) => n < 2n ** 256n, { message: () => "must be below 2^256" }))
  .annotations({ jsonSchema: { type: "string", pattern: "^[0-9]{1,78}$", description: "A uint256 as a decimal string" } })

const Signature = Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String).pipe(
  Schema.pattern(/^0x(?:[0-9a-fA-F]{2}){1,2048}$/, { message: () => "must be 0x followed by an even number of hexadecimal digits (at most 4096)" })
)

/** The viewer's signature of a quote's typed data, and the terms signed (they must cover the session). */
export const StartAuthorization = Schema.Struct({
  sessionKey: Uint256String.annotations({ description: "The quoted settlement key (POST /api/session/quote)" }),
  maxAmount: Uint256String.annotations({ description: "The signed maximum: at least the content's price" }),
  deadline: Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER)).annotations({ description: "The signed deadline, unix seconds" }),
  signature: Signature.annotations({ description: "The viewer's EIP-712 signature (65 bytes for an EOA; a contract wallet's EIP-1271 bytes)" })
}).annotations({ ...strict, identifier: "StartAuthorization" })

export const StartRequest = Schema.Struct({
  userAddress: AddressFromString,
  contentId: ContentId,
  authorization: Schema.optional(StartAuthorization).annotations({
    description: "The viewer's signed consent to this session's settlement: required when /api/status says authorizationRequired"
  })
}).annotations(strict)

export const QuoteRequest = Schema.Struct({ userAddress: AddressFromString, contentId: ContentId }).annotations(strict)

const Digits = Schema.String.annotations({ jsonSchema: { type: "string", pattern: "^[0-9]{1,78}$" } })
const Hex = Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String)

/** What viem's `signTypedData` takes, once the message's uint256 fields (decimal strings) are read as bigint. */
export const TypedData = Schema.Struct({
  domain: Schema.Struct({
    name: Schema.Literal("StreamingWallet"),
    version: Schema.Literal("1"),
    chainId: Schema.Int,
    verifyingContract: Hex
  }),
  types: Schema.Struct({
    SessionAuthorization: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String }))
  }),
  primaryType: Schema.Literal("SessionAuthorization"),
  message: Schema.Struct({
    viewer: Hex,
    contentId: Hex.annotations({ description: "The on-chain content id: keccak256 of the catalogue id" }),
    sessionKey: Digits,
    maxAmount: Digits,
    deadline: Digits
  }).annotations({ description: "sessionKey, maxAmount and deadline are uint256 decimal strings: pass BigInt(value) to signTypedData" })
}).annotations({ identifier: "SessionAuthorizationTypedData" })

export const Quoted = Schema.Struct({
  contentId: Schema.String,
  authorizationRequired: Schema.Boolean.annotations({ description: "Whether start needs this signature (the wallet's requireAuthorization flag)" }),
  sessionKey: Digits.annotations({ description: "The settlement key reserved for this viewer and content" }),
  maxAmount: AmountString.annotations({ description: "The content's full price: the most the session can cost" }),
  deadline: Schema.Int.annotations({ description: "Unix seconds: the last moment the settlement may be mined" }),
  expiresAt: Timestamp.annotations({ description: "Start the session before this, or ask for a new quote" }),
  typedData: TypedData
})
export const SessionRef = Schema.Struct({ sessionId: SessionId, userAddress: AddressFromString }).annotations(strict)
export const StopRequest = Schema.Struct({
  sessionId: SessionId,
  userAddress: AddressFromString,
  txHash: Schema.optional(TxHash).annotations({ description: "The viewer's own payForSession transaction, when they paid themselves" })
}).annotations(strict)

const ContentSummary = Schema.Struct({
  id: Schema.String,
  title: Schema.String,
  fullPrice: AmountString,
  totalDuration: Schema.Int
})
const ContentBrief = Schema.Struct({ id: Schema.String, title: Schema.String })

export const Payment = Schema.Struct({
  fromYield: AmountString,
  fromPrincipal: AmountString,
  txHash: Schema.String,
  blockNumber: Schema.Int,
  gasUsed: Schema.String.annotations({ description: "Gas used by the whole transaction" }),
  batchSize: Schema.Int.annotations({ description: "How many sessions that transaction settled (settleBatch)" })
})

export const Started = Schema.Struct({
  sessionId: SessionId,
  status: Schema.Literal("active"),
  startTime: Timestamp,
  estimatedCost: AmountString,
  content: ContentSummary,
  settlementKey: Schema.String.annotations({ description: "The on-chain key of this session's settlement (for payForSession)" })
})

export const Paused = Schema.Struct({
  sessionId: SessionId,
  status: Schema.Literal("paused"),
  pausedAt: Timestamp,
  activeDuration: Schema.Int,
  currentCost: AmountString
})

export const Resumed = Schema.Struct({
  sessionId: SessionId,
  status: Schema.Literal("active"),
  resumedAt: Timestamp,
  totalPausedDuration: Schema.Int
})

export const HeartbeatAck = Schema.Struct({
  sessionId: SessionId,
  status: Schema.Literal("active", "paused"),
  lastHeartbeatAt: Timestamp,
  billableUntil: Timestamp.annotations({ description: "The heartbeat's time plus HEARTBEAT_GRACE: no time after it is billed without another heartbeat" }),
  activeDuration: Schema.Int,
  currentCost: AmountString
})

const stopFields = {
  sessionId: SessionId,
  endTime: Timestamp,
  totalDuration: Schema.Int,
  activeDuration: Schema.Int,
  finalCost: AmountString
}

/**
 * 200: the session is over: paid, nothing to pay, the payment failed for good, or `unpaid` (a debt: the
 * chain refused it for lack of funds or allowance; `finalCost` is owed and settled once the viewer can pay).
 */
export const Stopped = Schema.Struct({
  ...stopFields,
  status: Schema.Literal("completed", "cancelled", "failed", "unpaid"),
  payment: Schema.NullOr(Payment),
  failureReason: Schema.NullOr(Schema.String)
})

/**
 * 202: stopped and priced; the payment is in flight (the reconciler finishes it whatever happens to
 * this process). GET /api/session/:sessionId and its `/events` stream bring the payment once confirmed.
 */
export const Settling = Schema.Struct({
  ...stopFields,
  status: Schema.Literal("settling"),
  payment: Schema.Null,
  txHash: Schema.NullOr(Schema.String).annotations({
    description: "The transaction carrying the payment, once it is sent (null until then); confirmed when GET shows COMPLETED"
  })
})

/** What GET /api/session/:sessionId/events sends: a stopped session's last seconds, its stop and its payment. */
const SESSION_EVENTS_EXAMPLE = [
  'event: cost\ndata: {"sessionId":"session_lx7g2h_a1b2c3d4","billedSeconds":41,"currentCost":"113888","currentCostUsdc":"0.113888"}\n',
  'event: status\ndata: {"sessionId":"session_lx7g2h_a1b2c3d4","status":"SETTLING","finalCost":"116666","txHash":null,"payment":null,"failureReason":null}\n',
  ": keep-alive\n",
  'event: status\ndata: {"sessionId":"session_lx7g2h_a1b2c3d4","status":"COMPLETED","finalCost":"116666","txHash":"0x5c50...","payment":{"fromYield":"116666","fromPrincipal":"0","txHash":"0x5c50...","blockNumber":812,"gasUsed":"161234","batchSize":3},"failureReason":null}\n'
].join("\n")

/** The stop's RFC 7240 preference, declared in OpenAPI only: the handler reads it from the request (the typed client need not send it). */
const preferParameter = {
  name: "Prefer",
  in: "header",
  required: false,
  description: "`wait=N`: wait up to N seconds for the payment to be confirmed before answering 202 (RFC 7240); the answer then carries `Preference-Applied: wait=N` with the bound applied",
  schema: { type: "string", example: "wait=10" }
}

/** GET /api/session/:sessionId's query: whose session it is. */
export const SessionDetailQuery = Schema.Struct({ userAddress: AddressFromString })

export const SessionDetail = Schema.Struct({
  sessionId: SessionId,
  status: SessionStatus.annotations({ description: "UNPAID: stopped, and the payment of finalCost is owed (a debt)" }),
  startTime: Timestamp,
  endTime: Schema.NullOr(Timestamp),
  totalDuration: Schema.Int,
  activeDuration: Schema.Int,
  pausedDuration: Schema.Int,
  currentCost: AmountString,
  finalCost: Schema.NullOr(AmountString),
  settlementKey: Schema.String,
  content: ContentSummary,
  payment: Schema.NullOr(Payment),
  failureReason: Schema.NullOr(Schema.String)
})

export const ActiveItem = Schema.Struct({
  sessionId: SessionId,
  status: SessionStatus,
  startTime: Timestamp,
  content: ContentBrief
})

export const HistoryItem = Schema.Struct({
  sessionId: SessionId,
  status: SessionStatus,
  startTime: Timestamp,
  endTime: Schema.NullOr(Timestamp),
  totalDuration: Schema.Int,
  finalCost: Schema.NullOr(AmountString),
  content: ContentBrief
})

export const HistoryQuery = Schema.Struct({
  limit: Schema.optional(PageLimit),
  cursor: Schema.optional(
    Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,200}$/, { message: () => "is not a cursor returned by this API" })).annotations({
      description: "Opaque cursor from a previous page's `nextCursor`"
    })
  )
})

/**
 * Every route of this group acts for a user: the group declares `Authentication` (bearer token, 401)
 * and the 403 of a caller that may not act for the address named. Each endpoint adds exactly the
 * errors its use case can end with.
 */
export class SessionApi extends HttpApiGroup.make("session")
  .add(
    HttpApiEndpoint.post("start", "/api/session/start")
      .setPayload(StartRequest)
      .addSuccess(Envelope(Started), { status: 201 })
      .addError(BadRequestError)
      .addError(PaymentRequiredError)
      .addError(TransitionErrors)
      .annotateContext(
        documented(
          "Start watching an item",
          "Opens a session for the address and reserves the item's full price. With `authorization` (mandatory when /api/status says authorizationRequired), the viewer's signature of a quote is checked first and kept with the session's settlement. 400 bad input, insufficient spendable balance, or an authorization refused (missing, another signer, content or key, an unknown, used or expired quote, maxAmount below the price, a deadline too early), and then nothing is stored; 402 while the address owes a debt, 404 unknown content, 409 already open for this item"
        )
      )
  )
  .add(
    HttpApiEndpoint.post("quote", "/api/session/quote")
      .setPayload(QuoteRequest)
      .addSuccess(Envelope(Quoted))
      .addError(BadRequestError)
      .addError(LookupErrors)
      .annotateContext(
        documented(
          "Get the authorization to sign for a session",
          "Reserves a settlement key for the address and item (single-use, until expiresAt) and returns the EIP-712 SessionAuthorization to sign with the viewer's wallet (viem signTypedData; free, no transaction): the key, the maximum (the item's full price) and the deadline. Then start with `authorization`. 400 bad input or not sellable, 404 unknown content"
        )
      )
  )
  .add(
    HttpApiEndpoint.post("pause", "/api/session/pause")
      .setPayload(SessionRef)
      .addSuccess(Envelope(Paused))
      .addError(TransitionErrors)
      .annotateContext(documented("Pause a session", "Stops the meter; paused seconds are not billed. 409 unless the session is active"))
  )
  .add(
    HttpApiEndpoint.post("resume", "/api/session/resume")
      .setPayload(SessionRef)
      .addSuccess(Envelope(Resumed))
      .addError(TransitionErrors)
      .annotateContext(documented("Resume a paused session", "Starts the meter again. 409 unless the session is paused"))
  )
  .add(
    HttpApiEndpoint.post("heartbeat", "/api/session/heartbeat")
      .setPayload(SessionRef)
      .addSuccess(Envelope(HeartbeatAck))
      .addError(TransitionErrors)
      .annotateContext(
        documented(
          "Keep a session alive",
          "Says the viewer is still watching. Once a session has had a heartbeat it is billed only up to its last heartbeat plus HEARTBEAT_GRACE (30 s by default), and the server stops and settles it when that time passes; send one every 10 s while the session is open. 409 unless the session is active or paused"
        )
      )
  )
  .add(
    HttpApiEndpoint.post("stop", "/api/session/stop")
      .setPayload(StopRequest)
      .addSuccess(Envelope(Stopped))
      .addSuccess(Envelope(Settling), { status: 202 })
      .addError(BadRequestError)
      .addError(TransitionErrors)
      .annotateContext(
        documented(
          "Stop a session and pay for it",
          "Prices the active seconds and pays them from the vault (yield first). Answers within a bound whatever the chain's block time: 200 when the session is over (completed with the payment, failed, unpaid, cancelled), else 202 `settling` with the `txHash` once sent; the payment then reaches GET /api/session/{sessionId} and its /events stream. `Prefer: wait=N` waits up to N seconds (capped below REQUEST_TIMEOUT; answered with `Preference-Applied: wait=N`); without it the server waits STOP_WAIT, by default 10 s on a chain that confirms within a second and 100 ms on a slower one. 400 when a given txHash does not prove the payment"
        )
      )
      .annotate(OpenApi.Transform, (op) => ({ ...op, parameters: [...(Array.isArray(op["parameters"]) ? op["parameters"] : []), preferParameter] }))
  )
  .add(
    HttpApiEndpoint.get("events", "/api/session/:sessionId/events")
      .setPath(Schema.Struct({ sessionId: SessionId }))
      .setUrlParams(SessionDetailQuery)
      .addSuccess(
        HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
          description:
            "Server-sent events. `status` (data: sessionId, status, finalCost, txHash, payment, failureReason): first, then on every change; `cost` (data: sessionId, billedSeconds, currentCost in the smallest unit, currentCostUsdc) every second while ACTIVE; a `: keep-alive` comment every 15 s; the stream ends after the status event of COMPLETED, CANCELLED, FAILED or UNPAID",
          examples: [SESSION_EVENTS_EXAMPLE]
        })
      )
      .addError(LookupErrors)
      .annotateContext(
        documented(
          "Follow a session live",
          "A server-sent event stream (text/event-stream) of the session: its status changes (with the payment once confirmed) and, while it is active, its running cost every second; it closes after the terminal state. 404 unknown, 403 when it belongs to another address"
        )
      )
  )
  .add(
    HttpApiEndpoint.get("active", "/api/session/user/:userAddress/active")
      .setPath(UserPath)
      .addSuccess(Envelope(Schema.Array(ActiveItem)))
      .addError(ServiceUnavailableError)
      .annotateContext(documented("A viewer's open sessions", "The address's active and paused sessions, newest first"))
  )
  .add(
    HttpApiEndpoint.get("history", "/api/session/user/:userAddress/history")
      .setPath(UserPath)
      .setUrlParams(HistoryQuery)
      .addSuccess(
        Schema.Struct({
          success: Schema.Literal(true),
          data: Schema.Array(HistoryItem),
          nextCursor: Schema.NullOr(Schema.String).annotations({ description: "Pass as `cursor` for the next (older) page; null at the end" }),
          timestamp: Timestamp
        })
      )
      .addError(BadRequestError)
      .addError(ServiceUnavailableError)
      .annotateContext(documented("A viewer's session history", "Every session of the address, newest first, paged by `limit` and `cursor`"))
  )
  .add(
    HttpApiEndpoint.get("get", "/api/session/:sessionId")
      .setPath(Schema.Struct({ sessionId: SessionId }))
      .setUrlParams(SessionDetailQuery)
      .addSuccess(Envelope(SessionDetail))
      .addError(LookupErrors)
      .annotateContext(documented("One session", "The session's timing, cost and payment; 404 unknown, 403 when it belongs to another address"))
  )
  .middleware(Authentication)
  .addError(ForbiddenError)
  .annotate(OpenApi.Description, "Streaming sessions: start, pause, resume, stop (and pay), read. Every route acts for the address it names") {}

