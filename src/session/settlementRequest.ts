import type { SettlementRequest } from "../domain/Chain.js"
import type { SettlementRecord } from "./SessionRepo.js"

/**
 * The one place a settlement to send is built from its outbox record: the stop's own send, a batch, the
 * reconciler's resend and a debt's retry all go through it, so each carries the viewer's authorization
 * when the session has one (a wallet that requires authorizations refuses a settlement without it).
 */
export const settlementRequestOf = (s: SettlementRecord): SettlementRequest => ({
  sessionKey: s.settlementKey,
  user: s.userAddress,
  contentId: s.contentId,
  amount: s.amount,
  ...(s.authorization === null ? {} : { authorization: s.authorization })
})
