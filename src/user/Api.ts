import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AddressFromString } from "../domain/Address.js"
import { formatUsdc } from "../domain/Money.js"
import { AmountString, documented, UserPath } from "../http/apiParts.js"
import { Envelope } from "../http/envelope.js"
import { Authentication } from "../auth/Caller.js"
import { ForbiddenError, ServiceUnavailableError } from "../http/errors.js"
import type { Balance as BalanceModel, UserStats as UserStatsModel } from "./Users.js"

/**
 * The seed's balance object, plus three fields beyond it: `reserved` (the estimated cost of the user's open
 * sessions and payments in flight), `debt` (what the user owes: payments the chain refused for lack of
 * funds or allowance; while it is above 0 no session starts) and `spendable` (total - reserved - debt,
 * never below 0), each also formatted.
 * Amounts are strings in the token's smallest unit; `formatted` has two decimals, never rounded up.
 */
export const Balance = Schema.Struct({
  userAddress: AddressFromString,
  yieldBalance: AmountString,
  principalBalance: AmountString,
  totalBalance: AmountString,
  reserved: AmountString,
  debt: AmountString,
  spendable: AmountString,
  formatted: Schema.Struct({
    yield: Schema.String,
    principal: Schema.String,
    total: Schema.String,
    reserved: Schema.String,
    debt: Schema.String,
    spendable: Schema.String
  })
}).annotations({ identifier: "Balance" })

export const UserStats = Schema.Struct({
  totalSessions: Schema.NonNegativeInt,
  completedSessions: Schema.NonNegativeInt,
  /** Seconds. */
  totalWatchTime: Schema.NonNegativeInt,
  /** Seconds: floor(totalWatchTime / totalSessions). */
  averageWatchTime: Schema.NonNegativeInt,
  totalSpent: AmountString,
  balance: Balance
}).annotations({ identifier: "UserStats" })

export class UserApi extends HttpApiGroup.make("user")
  .add(
    HttpApiEndpoint.get("balance", "/api/user/:userAddress/balance")
      .setPath(UserPath)
      .addSuccess(Envelope(Balance))
      .addError(ServiceUnavailableError)
      .annotateContext(documented("A viewer's vault balance", "Vault balances (public on-chain data), what open sessions reserve and any debt; an address never seen is all zeros"))
  )
  .add(
    HttpApiEndpoint.get("stats", "/api/user/:userAddress/stats")
      .setPath(UserPath)
      .addSuccess(Envelope(UserStats))
      .middleware(Authentication)
      .addError(ForbiddenError)
      .addError(ServiceUnavailableError)
      .annotateContext(documented("A viewer's usage statistics", "Sessions, watch time and spending: private, the caller must act for the address"))
  )
  .annotate(OpenApi.Description, "A viewer's balance and usage") {}

/** Wire form of a balance. */
export const balanceView = (b: BalanceModel): typeof Balance.Type => ({
  userAddress: b.userAddress,
  yieldBalance: b.yieldBalance,
  principalBalance: b.principalBalance,
  totalBalance: b.totalBalance,
  reserved: b.reserved,
  debt: b.debt,
  spendable: b.spendable,
  formatted: {
    yield: formatUsdc(b.yieldBalance),
    principal: formatUsdc(b.principalBalance),
    total: formatUsdc(b.totalBalance),
    reserved: formatUsdc(b.reserved),
    debt: formatUsdc(b.debt),
    spendable: formatUsdc(b.spendable)
  }
})

export const statsView = (s: UserStatsModel): typeof UserStats.Type => ({
  totalSessions: s.totalSessions,
  completedSessions: s.completedSessions,
  totalWatchTime: s.totalWatchTime,
  averageWatchTime: s.averageWatchTime,
  totalSpent: s.totalSpent,
  balance: balanceView(s.balance)
})
