/**
 * The ledger audit: reads every SessionSettled and SessionPaid event of the deployment from the chain
 * (from DEPLOYMENT_BLOCK, in ranges of --chunk blocks) and every settlement from the database, and
 * prints each mismatch (src/audit/Audit.ts). Exit code 0 and a one-line summary when they agree, 1 on
 * any mismatch (or when it cannot run).
 *
 *   npm run audit
 *   npm run audit -- --chunk 500 --settling-minutes 30
 *
 * Settings as the server's: DATABASE_URL (or PGLITE_DATA_DIR), RPC_URL, STREAMING_WALLET_ADDRESS,
 * DEPLOYMENT_BLOCK, NETWORK_ID (checked when set). It only reads: no key, no migration.
 */
import { SqlClient } from "@effect/sql"
import { Console, Effect, Option, Redacted } from "effect"
import { createPublicClient, http, webSocket } from "viem"
import { AppConfig } from "../src/config.js"
import { layerPGlite, layerPg } from "../src/db/Database.js"
import { audit, describeClean, describeMismatch } from "../src/audit/Audit.js"
import { LedgerLogViem } from "../src/audit/LedgerLog.js"
import { attempt, fail, flags, required, runScript } from "./support/cli.js"

const positive = (name: string, value: string | undefined, fallback: number) =>
  value === undefined ? Effect.succeed(fallback) : /^[1-9][0-9]{0,6}$/.test(value) ? Effect.succeed(Number(value)) : fail(`--${name} must be a positive integer`)

/** The database must be this deployment's: the binding the server recorded names the same chain and wallet. */
const checkBinding = (chainId: number, wallet: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly chainId: string; readonly wallet: string }>`SELECT chain_id::text AS "chainId", wallet FROM chain_binding`
    const row = rows[0]
    if (row === undefined) return yield* fail("this database is bound to no deployment yet (the server has not run on it)")
    if (row.chainId !== String(chainId) || row.wallet !== wallet) {
      return yield* fail(`this database settles on chain ${row.chainId}, StreamingWallet ${row.wallet}; not on chain ${chainId}, ${wallet}`)
    }
  })

const program = Effect.gen(function* () {
  const f = yield* flags(["chunk", "settling-minutes"])
  const chunk = yield* positive("chunk", f.chunk, 2_000)
  const settlingMinutes = yield* positive("settling-minutes", f["settling-minutes"], 60)
  const config = yield* AppConfig
  const rpc = yield* Option.match(config.chain.rpcUrl, {
    onNone: () => fail("RPC_URL is not set: give the JSON-RPC endpoint of the deployment's chain"),
    onSome: (u) => Effect.succeed(Redacted.value(u))
  })
  const wallet = yield* required("STREAMING_WALLET_ADDRESS", config.chain.wallet)
  const database = Option.isSome(config.database.url)
    ? layerPg(config.database.url.value, 2)
    : Option.isSome(config.database.pgliteDataDir)
      ? layerPGlite(config.database.pgliteDataDir)
      : undefined
  if (database === undefined) return yield* fail("DATABASE_URL is not set: give the database the server uses")
  const publicClient = createPublicClient({ transport: rpc.startsWith("ws") ? webSocket(rpc) : http(rpc, { retryCount: 2 }) })
  const chainId = yield* attempt("cannot reach RPC_URL", () => publicClient.getChainId())
  if (Option.isSome(config.chain.networkId) && config.chain.networkId.value !== chainId) {
    return yield* fail(`NETWORK_ID is ${config.chain.networkId.value} but RPC_URL serves chain ${chainId}`)
  }
  const report = yield* Effect.zipRight(
    checkBinding(chainId, wallet),
    audit({ fromBlock: Option.getOrElse(config.chain.deploymentBlock, () => 0n), chunkSize: BigInt(chunk), settlingBoundMs: settlingMinutes * 60_000 })
  ).pipe(Effect.provide(LedgerLogViem(publicClient, wallet)), Effect.provide(database))
  for (const m of report.mismatches) yield* Console.log(describeMismatch(m))
  if (report.mismatches.length > 0) return yield* fail(`audit found ${report.mismatches.length} mismatch(es) in blocks ${report.fromBlock}-${report.toBlock}`)
  yield* Console.log(describeClean(report))
})

runScript(program)
