import { Clock, Context, Effect, Layer } from "effect"
import type { Address } from "../domain/Address.js"
import { Chain } from "../domain/Chain.js"
import type { ChainUnavailable, DatabaseUnavailable } from "../domain/errors.js"
import { type ContentEarnings, CreatorRepo, type DayEarnings } from "./CreatorRepo.js"

export interface CreatorEarnings {
  readonly creatorAddress: Address
  /** Held for the creator by the StreamingWallet now (on chain): what `withdrawEarnings()` pays. */
  readonly withdrawable: bigint
  /** Everything our records credit to the creator (withdrawn or not). */
  readonly earned: bigint
  readonly sessions: number
  readonly byContent: ReadonlyArray<ContentEarnings>
  /** The last `days` UTC days (today included) that have earnings, newest first. */
  readonly byDay: ReadonlyArray<DayEarnings>
  /** The contract the creator calls `withdrawEarnings()` on. */
  readonly wallet: Address
}

const DAY_MS = 86_400_000

/** The first instant of the UTC day `days - 1` days before the one `now` falls in. */
export const windowStart = (now: number, days: number): number => Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS

/** Creators' earnings: public (on-chain data and what the chain's events show anyway). */
export class Creators extends Context.Tag("payg/Creators")<
  Creators,
  {
    readonly earnings: (creator: Address, days: number) => Effect.Effect<CreatorEarnings, ChainUnavailable | DatabaseUnavailable>
  }
>() {}

export const CreatorsLive = Layer.effect(
  Creators,
  Effect.gen(function* () {
    const chain = yield* Chain
    const repo = yield* CreatorRepo
    const earnings = Effect.fn("Creators.earnings")(function* (creator: Address, days: number) {
      const now = yield* Clock.currentTimeMillis
      const [withdrawable, byContent, byDay] = yield* Effect.all(
        [chain.earningsOf(creator), repo.byContent(creator), repo.byDay(creator, windowStart(now, days))],
        { concurrency: 3 }
      )
      return {
        creatorAddress: creator,
        withdrawable,
        earned: byContent.reduce((sum, c) => sum + c.earned, 0n),
        sessions: byContent.reduce((n, c) => n + c.sessions, 0),
        byContent,
        byDay,
        wallet: chain.binding.wallet
      }
    })
    return Creators.of({ earnings })
  })
)
