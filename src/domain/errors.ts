import { Schema } from "effect"
import { formatUsdc } from "./Money.js"

/** Domain failures. They know nothing of HTTP; the API layer maps each to a status. */

export class ContentNotFound extends Schema.TaggedError<ContentNotFound>()("ContentNotFound", {
  contentId: Schema.String
}) {
  override get message(): string {
    return `content '${this.contentId}' was not found or is not active`
  }
}

export class ContentNotSellable extends Schema.TaggedError<ContentNotSellable>()("ContentNotSellable", {
  contentId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `content '${this.contentId}' cannot be sold: ${this.reason}`
  }
}

export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  sessionId: Schema.String
}) {
  override get message(): string {
    return `session '${this.sessionId}' was not found`
  }
}

export class NotSessionOwner extends Schema.TaggedError<NotSessionOwner>()("NotSessionOwner", {
  sessionId: Schema.String
}) {
  override get message(): string {
    return `session '${this.sessionId}' belongs to another address`
  }
}

export class SessionAlreadyOpen extends Schema.TaggedError<SessionAlreadyOpen>()("SessionAlreadyOpen", {
  contentId: Schema.String
}) {
  override get message(): string {
    return `this address already has an active or paused session for '${this.contentId}'`
  }
}

export class InsufficientBalance extends Schema.TaggedError<InsufficientBalance>()("InsufficientBalance", {
  required: Schema.BigIntFromSelf,
  spendable: Schema.BigIntFromSelf
}) {
  override get message(): string {
    return `insufficient balance: the session may cost up to ${formatUsdc(this.required)} (${this.required}) but only ${formatUsdc(this.spendable)} (${this.spendable}) is spendable (vault balance less the estimated cost of open sessions)`
  }
}

/** The user owes a settlement the chain refused for lack of funds or allowance: no new session until it is paid. */
export class DebtOutstanding extends Schema.TaggedError<DebtOutstanding>()("DebtOutstanding", {
  debt: Schema.BigIntFromSelf
}) {
  override get message(): string {
    return `payment required: this address owes ${formatUsdc(this.debt)} (${this.debt} token units) for sessions already watched; deposit into the vault or restore the allowance and the debt is settled automatically, then new sessions can start`
  }
}

export class PaymentNotProven extends Schema.TaggedError<PaymentNotProven>()("PaymentNotProven", {
  txHash: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `transaction ${this.txHash} does not prove payment for this session: ${this.reason}`
  }
}

/** The chain could not be reached or did not answer in time: transient, worth retrying. */
export class ChainUnavailable extends Schema.TaggedError<ChainUnavailable>()("ChainUnavailable", {
  reason: Schema.String
}) {
  override get message(): string {
    return `the blockchain is unavailable: ${this.reason}`
  }
}

/** The chain refused a settlement (a revert): permanent for that request, never retried as is. */
export class SettlementRejected extends Schema.TaggedError<SettlementRejected>()("SettlementRejected", {
  errorName: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the settlement was rejected on chain: ${this.errorName}${this.reason ? ` (${this.reason})` : ""}`
  }
}

/** The database could not be reached: transient. */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  reason: Schema.String
}) {
  override get message(): string {
    return `the database is unavailable: ${this.reason}`
  }
}

/**
 * A session start whose viewer authorization (issue 14) is missing, does not match its quote, or is not
 * the viewer's signature of these terms: nothing is stored.
 */
export class AuthorizationRefused extends Schema.TaggedError<AuthorizationRefused>()("AuthorizationRefused", {
  reason: Schema.String
}) {
  override get message(): string {
    return `the session authorization is refused: ${this.reason}`
  }
}

/** No content-manager key is configured: the catalogue cannot be listed on chain (CONTENT_MANAGER_KEY). */
export class NoContentManager extends Schema.TaggedError<NoContentManager>()("NoContentManager", {}) {
  override get message(): string {
    return "no content-manager key is configured (CONTENT_MANAGER_KEY, an account holding CONTENT_MANAGER_ROLE): the catalogue cannot be changed on chain"
  }
}

/** The chain refused a listing write (a revert: the key lacks CONTENT_MANAGER_ROLE, already listed, invalid terms). */
export class ListingRefused extends Schema.TaggedError<ListingRefused>()("ListingRefused", {
  contentId: Schema.String,
  errorName: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the chain refused the listing of '${this.contentId}': ${this.errorName}${this.reason === "" ? "" : ` (${this.reason})`}`
  }
}

/**
 * A node refused an operator transaction for its nonce: already used (mined), or taken in the mempool
 * by another transaction whose fees this one does not beat by enough (a replacement underpriced).
 */
export class NonceConflict extends Schema.TaggedError<NonceConflict>()("NonceConflict", {
  nonce: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `nonce ${this.nonce} refused: ${this.reason}`
  }
}
