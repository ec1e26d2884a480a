import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AddressFromString } from "../domain/Address.js"
import { ContentId } from "../domain/Content.js"
import { PageLimit } from "../content/Api.js"
import { AmountString as DomainAmount } from "../domain/Money.js"
import { SessionId, SessionStatus } from "../domain/Session.js"
import { Authentication } from "../auth/Caller.js"
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, PaymentRequiredError, ServiceUnavailableError } from "../http/errors.js"
import { AmountJsonSchema, Envelope, Timestamp } from "../http/envelope.js"

/** Amounts on the wire: digits only (the JSON Schema says so). */
const AmountString = DomainAmount.annotations(AmountJsonSchema)

const strict = { parseOptions: { onExcessProperty: "error" } } as const

const TxHash = Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String).pipe(
  Schema.pattern(/^0x[0-9a-fA-F]{64}$/, { message: () => "must be 0x followed by 64 hexadecimal digits" })
)

export const StartRequest = Schema.Struct({ userAddress: AddressFromString, contentId: ContentId }).annotations(strict)
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

/** 202: stopped and priced; the payment is in flight and the reconciler will finish it. */
export const Settling = Schema.Struct({
  ...stopFields,
  status: Schema.Literal("settling"),
  payment: Schema.Null
})

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

const UserPath = Schema.Struct({ userAddress: AddressFromString })

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
      .addError(NotFoundError)
      .addError(ConflictError)
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "Start watching an item")
      .annotate(
        OpenApi.Description,
        "Opens a session for the address and reserves the item's full price. 400 bad input or insufficient spendable balance, 402 while the address owes a debt, 404 unknown content, 409 already open for this item"
      )
  )
  .add(
    HttpApiEndpoint.post("pause", "/api/session/pause")
      .setPayload(SessionRef)
      .addSuccess(Envelope(Paused))
      .addError(NotFoundError)
      .addError(ConflictError)
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "Pause a session")
      .annotate(OpenApi.Description, "Stops the meter; paused seconds are not billed. 409 unless the session is active")
  )
  .add(
    HttpApiEndpoint.post("resume", "/api/session/resume")
      .setPayload(SessionRef)
      .addSuccess(Envelope(Resumed))
      .addError(NotFoundError)
      .addError(ConflictError)
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "Resume a paused session")
      .annotate(OpenApi.Description, "Starts the meter again. 409 unless the session is paused")
  )
  .add(
    HttpApiEndpoint.post("heartbeat", "/api/session/heartbeat")
      .setPayload(SessionRef)
      .addSuccess(Envelope(HeartbeatAck))
      .addError(NotFoundError)
      .addError(ConflictError)
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "Keep a session alive")
      .annotate(
        OpenApi.Description,
        "Says the viewer is still watching. Once a session has had a heartbeat it is billed only up to its last heartbeat plus HEARTBEAT_GRACE (30 s by default), and the server stops and settles it when that time passes; send one every 10 s while the session is open. 409 unless the session is active or paused"
      )
  )
  .add(
    HttpApiEndpoint.post("stop", "/api/session/stop")
      .setPayload(StopRequest)
      .addSuccess(Envelope(Stopped))
      .addSuccess(Envelope(Settling), { status: 202 })
      .addError(BadRequestError)
      .addError(NotFoundError)
      .addError(ConflictError)
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "Stop a session and pay for it")
      .annotate(
        OpenApi.Description,
        "Prices the active seconds and pays them from the vault (yield first). 200 when finished, 202 while the payment is still settling; 400 when a given txHash does not prove the payment"
      )
  )
  .add(
    HttpApiEndpoint.get("active", "/api/session/user/:userAddress/active")
      .setPath(UserPath)
      .addSuccess(Envelope(Schema.Array(ActiveItem)))
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "A viewer's open sessions")
      .annotate(OpenApi.Description, "The address's active and paused sessions, newest first")
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
      .annotate(OpenApi.Summary, "A viewer's session history")
      .annotate(OpenApi.Description, "Every session of the address, newest first, paged by `limit` and `cursor`")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/session/:sessionId")
      .setPath(Schema.Struct({ sessionId: SessionId }))
      .setUrlParams(SessionDetailQuery)
      .addSuccess(Envelope(SessionDetail))
      .addError(NotFoundError)
      .addError(ServiceUnavailableError)
      .annotate(OpenApi.Summary, "One session")
      .annotate(OpenApi.Description, "The session's timing, cost and payment; 404 unknown, 403 when it belongs to another address")
  )
  .middleware(Authentication)
  .addError(ForbiddenError)
  .annotate(OpenApi.Description, "Streaming sessions: start, pause, resume, stop (and pay), read. Every route acts for the address it names") {}

