import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { AppConfig } from "../config.js"
import { Chain } from "../domain/Chain.js"
import { StartupError } from "../platform/StartupError.js"

interface BindingRow {
  readonly chainId: string
  readonly usdc: string
  readonly vault: string
  readonly wallet: string
  readonly kind: string
}

/**
 * Binds the database to the chain and deployment it settles on, or refuses to start: one chain's
 * sessions are never mixed with another's settlements. An in-process chain is new at every start,
 * so a database that already saw one is refused unless RESET_ON_CHAIN_CHANGE wipes its sessions.
 */
export const bindChain = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const chain = yield* Chain
  const config = yield* AppConfig
  const b = chain.binding
  const rows = yield* sql<BindingRow>`SELECT chain_id::text AS "chainId", usdc, vault, wallet, kind FROM chain_binding`
  const row = rows[0]
  const describe = (r: { chainId: string | number; wallet: string }) => `chain ${r.chainId}, StreamingWallet ${r.wallet}`
  if (row) {
    const same = row.chainId === String(b.chainId) && row.usdc === b.usdc && row.vault === b.vault && row.wallet === b.wallet
    const stale = b.kind === "in-process" || row.kind === "in-process"
    if (same && !stale) return
    if (!config.database.resetOnChainChange) {
      return yield* new StartupError({
        reason: stale
          ? `this database holds sessions of an earlier in-process chain (${describe(row)}), which no longer exists; use an empty database, or set RESET_ON_CHAIN_CHANGE=true to delete its sessions`
          : `this database settles on ${describe(row)}, not on ${describe(b)}; use the database of that deployment, or set RESET_ON_CHAIN_CHANGE=true to delete its sessions`
      })
    }
    yield* sql.withTransaction(
      Effect.all([sql`DELETE FROM operator_transactions`, sql`DELETE FROM settlements`, sql`DELETE FROM session_quotes`, sql`DELETE FROM sessions`, sql`DELETE FROM idempotency_keys`, sql`DELETE FROM chain_binding`])
    )
    yield* Effect.logWarning("RESET_ON_CHAIN_CHANGE: deleted the sessions of the previous chain", { previous: describe(row) })
  }
  yield* sql`
    INSERT INTO chain_binding (chain_id, usdc, vault, wallet, kind)
    VALUES (${b.chainId}, ${b.usdc}, ${b.vault}, ${b.wallet}, ${b.kind})`
}).pipe(Effect.withSpan("Chain.bind"))

/**
 * Production settles only viewer-signed sessions (issue 14): a wallet deployed without
 * `requireAuthorization` lets the operator key alone charge any viewer up to their allowance, so the
 * server refuses to start against one when NODE_ENV=production.
 */
export const refuseUnsignedInProduction = Effect.gen(function* () {
  const { binding } = yield* Chain
  const config = yield* AppConfig
  if (config.nodeEnv !== "production" || binding.requireAuthorization) return
  return yield* new StartupError({
    reason: `the StreamingWallet ${binding.wallet} on chain ${binding.chainId} does not require viewers' authorizations (requireAuthorization is false), so the operator key alone could charge any viewer; production needs a wallet deployed with --require-authorization true (docs/CONTRACTS.md, Deployment)`
  })
})
