import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AddressFromString, toAddress } from "../domain/Address.js"
import { formatUsdc } from "../domain/Money.js"
import { AmountString, documented } from "../http/apiParts.js"
import { Envelope } from "../http/envelope.js"
import { ServiceUnavailableError } from "../http/errors.js"
import type { CreatorEarnings } from "./Creators.js"

const Formatted = Schema.Struct({ earned: Schema.String })

export const ContentEarnings = Schema.Struct({
  contentId: Schema.String,
  title: Schema.String,
  sessions: Schema.NonNegativeInt,
  earned: AmountString,
  formatted: Formatted
}).annotations({ identifier: "ContentEarnings" })

export const DayEarnings = Schema.Struct({
  day: Schema.String.annotations({ description: "UTC day the payments were confirmed, YYYY-MM-DD", examples: ["2026-01-31"] }),
  sessions: Schema.NonNegativeInt,
  earned: AmountString,
  formatted: Formatted
}).annotations({ identifier: "DayEarnings" })

/**
 * A creator's earnings. `withdrawable` is read from the chain (the StreamingWallet's `earningsOf`);
 * `earned`, `byContent` and `byDay` come from our records of confirmed payments (withdrawn or not).
 * Amounts are strings in the token's smallest unit; `formatted` has two decimals, never rounded up.
 */
export const Earnings = Schema.Struct({
  creatorAddress: AddressFromString,
  withdrawable: AmountString,
  earned: AmountString,
  sessions: Schema.NonNegativeInt,
  byContent: Schema.Array(ContentEarnings),
  byDay: Schema.Array(DayEarnings),
  withdrawal: Schema.Struct({
    contract: AddressFromString.annotations({ description: "The StreamingWallet: the creator calls withdrawEarnings() on it from their own wallet" }),
    function: Schema.Literal("withdrawEarnings()")
  }),
  formatted: Schema.Struct({ withdrawable: Schema.String, earned: Schema.String })
}).annotations({ identifier: "CreatorEarnings" })

const demoCreator = toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")

const CreatorPath = Schema.Struct({
  creatorAddress: AddressFromString.annotations({ examples: [demoCreator] })
})

/** How many UTC days `byDay` covers, today included. */
export const EarningsQuery = Schema.Struct({
  days: Schema.optional(
    Schema.compose(
      Schema.String.pipe(
        Schema.pattern(/^[1-9][0-9]{0,2}$/, { message: () => "must be an integer from 1 to 366" }),
        Schema.annotations({ description: "Days covered by byDay, today (UTC) included: 1 to 366 (default 30)", examples: ["30"] })
      ),
      Schema.NumberFromString
    ).pipe(Schema.int(), Schema.between(1, 366, { message: () => "must be an integer from 1 to 366" }))
  )
})

export const DEFAULT_DAYS = 30

export class CreatorApi extends HttpApiGroup.make("creator")
  .add(
    HttpApiEndpoint.get("earnings", "/api/creator/:creatorAddress/earnings")
      .setPath(CreatorPath)
      .setUrlParams(EarningsQuery)
      .addSuccess(Envelope(Earnings))
      .addError(ServiceUnavailableError)
      .annotateContext(
        documented(
          "A creator's earnings",
          "Public: withdrawable earnings on chain, and what our records credit the creator per content item and per UTC day. An address that earned nothing is all zeros, not 404. The creator withdraws by calling withdrawEarnings() on `withdrawal.contract` from their own wallet"
        )
      )
  )
  .annotate(OpenApi.Description, "Creators: earnings and how to withdraw them") {}

/** Wire form of a creator's earnings. */
export const earningsView = (e: CreatorEarnings): typeof Earnings.Type => ({
  creatorAddress: e.creatorAddress,
  withdrawable: e.withdrawable,
  earned: e.earned,
  sessions: e.sessions,
  byContent: e.byContent.map((c) => ({ ...c, formatted: { earned: formatUsdc(c.earned) } })),
  byDay: e.byDay.map((d) => ({ ...d, formatted: { earned: formatUsdc(d.earned) } })),
  withdrawal: { contract: e.wallet, function: "withdrawEarnings()" },
  formatted: { withdrawable: formatUsdc(e.withdrawable), earned: formatUsdc(e.earned) }
})
