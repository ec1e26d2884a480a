import type { Quote } from "./Sessions.js"

/**
 * The wire view of a quote. The typed data's uint256 fields are decimal strings (a settlement key is
 * above 2^127, beyond a JSON number): a client passes `BigInt(value)` of each to viem's signTypedData.
 */
export const quoted = (q: Quote) => ({
  contentId: q.quote.contentId,
  authorizationRequired: q.authorizationRequired,
  sessionKey: q.quote.settlementKey.toString(),
  maxAmount: q.quote.maxAmount,
  deadline: Number(q.quote.deadline),
  expiresAt: new Date(q.quote.expiresAt).toISOString(),
  typedData: {
    domain: q.typedData.domain,
    types: q.typedData.types,
    primaryType: q.typedData.primaryType,
    message: {
      viewer: q.typedData.message.viewer,
      contentId: q.typedData.message.contentId,
      sessionKey: q.typedData.message.sessionKey.toString(),
      maxAmount: q.typedData.message.maxAmount.toString(),
      deadline: q.typedData.message.deadline.toString()
    }
  }
})
