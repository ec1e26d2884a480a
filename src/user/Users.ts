import { Clock, Context, Effect, Layer, Option } from "effect"
import type { Address } from "../domain/Address.js"
import { ChainView } from "../chain/ChainView.js"
import type { VaultBalances } from "../domain/Chain.js"
import type { ChainUnavailable, DatabaseUnavailable } from "../domain/errors.js"
import { SessionRepo } from "../session/SessionRepo.js"
import { type UsageStats, UserStatsRepo } from "./UserStatsRepo.js"

/** A user's vault balance and what their open sessions have reserved of it. */
export interface Balance {
  readonly userAddress: Address
  readonly yieldBalance: bigint
  readonly principalBalance: bigint
  /** yield + principal */
  readonly totalBalance: bigint
  /** The estimated cost of the user's open sessions (and of payments in flight). */
  readonly reserved: bigint
  /** What the user owes: settlements the chain refused for lack of funds or allowance. Blocks new starts. */
  readonly debt: bigint
  /** total - reserved - debt, never below 0: what a new session may still promise. */
  readonly spendable: bigint
}

export interface UserStats extends UsageStats {
  readonly balance: Balance
}

/** Combines the vault's balances with the reservation and the debt (pure). */
export const balanceOf = (userAddress: Address, vault: VaultBalances, reserved: bigint, debt: bigint): Balance => {
  const totalBalance = vault.yieldBalance + vault.principal
  const committed = reserved + debt
  return {
    userAddress,
    yieldBalance: vault.yieldBalance,
    principalBalance: vault.principal,
    totalBalance,
    reserved,
    debt,
    spendable: totalBalance > committed ? totalBalance - committed : 0n
  }
}

/** The user use cases: balances (public, on-chain data) and usage statistics (private). */
export class Users extends Context.Tag("payg/Users")<
  Users,
  {
    readonly balance: (user: Address) => Effect.Effect<Balance, ChainUnavailable | DatabaseUnavailable>
    readonly stats: (user: Address) => Effect.Effect<UserStats, ChainUnavailable | DatabaseUnavailable>
  }
>() {}

export const UsersLive = Layer.effect(
  Users,
  Effect.gen(function* () {
    // the vault balance from the chain view: no chain request while it is fresh
    const chain = yield* ChainView
    const sessions = yield* SessionRepo
    const statsRepo = yield* UserStatsRepo

    const balance = Effect.fn("Users.balance")(function* (user: Address) {
      const [vault, reserved, debt] = yield* Effect.all([chain.balancesOf(user), sessions.reservedFor(user, Option.none()), sessions.debtOf(user)], {
        concurrency: 3
      })
      return balanceOf(user, vault, reserved, debt)
    })

    const stats = Effect.fn("Users.stats")(function* (user: Address) {
      const now = yield* Clock.currentTimeMillis
      const [usage, current] = yield* Effect.all([statsRepo.usageOf(user, now), balance(user)], { concurrency: 2 })
      return { ...usage, balance: current }
    })

    return Users.of({ balance, stats })
  })
)
