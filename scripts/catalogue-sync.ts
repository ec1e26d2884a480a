/**
 * Syncs a catalogue to the chain and the database: lists or updates on chain what differs (with the
 * content manager's key), then upserts the database, printing what changed. Idempotent.
 *
 *   npm run catalogue:sync -- --file catalogue.json    # an operator's catalogue (a JSON array of entries)
 *   npm run catalogue:sync                             # the demo catalogue
 *
 * Settings as the server's: RPC_URL, STREAMING_WALLET_ADDRESS, NETWORK_ID (checked when set), DATABASE_URL
 * (or PGLITE_DATA_DIR), and CONTENT_MANAGER_KEY, or PRIVATE_KEY when the deployer kept that role.
 */
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { readFile } from "node:fs/promises"
import { getAddress } from "viem"
import { streamingWalletAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { readToken } from "../src/chain/token.js"
import { AppConfig } from "../src/config.js"
import { demoCatalogue } from "../src/content/catalogue.js"
import { CatalogueSync, CatalogueSyncLive, ContentListingsViem, parseCatalogue } from "../src/content/CatalogueSync.js"
import { DatabaseLive } from "../src/db/Database.js"
import { formatUsdc } from "../src/domain/Money.js"
import { attempt, clientsFor, fail, flags, keyOf, privateKey, required, runScript } from "./support/cli.js"

const program = Effect.gen(function* () {
  const f = yield* flags(["file"])
  const config = yield* AppConfig
  if (Option.isNone(config.database.url) && Option.isNone(config.database.pgliteDataDir)) {
    return yield* fail("DATABASE_URL is not set: give the database the server uses (an in-memory embedded one would be gone at once)")
  }
  const entries =
    f.file === undefined ? demoCatalogue : yield* parseCatalogue(yield* attempt(`cannot read ${f.file}`, () => readFile(f.file ?? "", "utf8")))
  const managerKey = yield* Config.redacted("CONTENT_MANAGER_KEY").pipe(Config.option)
  const key = Option.isSome(managerKey) ? yield* keyOf("CONTENT_MANAGER_KEY", Redacted.value(managerKey.value)) : yield* privateKey
  const wallet = yield* required("STREAMING_WALLET_ADDRESS", config.chain.wallet)
  const clients = yield* clientsFor(key)
  const vault = yield* attempt("cannot read the wallet's vault", () =>
    clients.publicClient.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "vault" })
  )
  const asset = yield* attempt("cannot read the vault's token", () =>
    clients.publicClient.readContract({ address: vault, abi: yieldVaultAbi, functionName: "asset" })
  )
  const token = yield* attempt("cannot read the token", () => readToken(clients.publicClient, asset))
  const synced = yield* Effect.flatMap(CatalogueSync, (s) => s.sync(entries)).pipe(
    Effect.provide(CatalogueSyncLive.pipe(Layer.provide(Layer.merge(ContentListingsViem({ ...clients, wallet }), DatabaseLive))))
  )
  const price = (amount: bigint) => formatUsdc(amount, token.decimals).replace(/USDC$/, token.symbol)
  let changed = 0
  for (const s of synced) {
    if (s.chain !== "unchanged" || s.database !== "unchanged") changed++
    yield* Console.log(`${s.contentId}: chain ${s.chain}, database ${s.database} (${price(s.fullPrice)}, ${s.totalDuration} s, creator ${getAddress(s.creatorAddress)})`)
  }
  yield* Console.log(changed === 0 ? `nothing to change: ${synced.length} item(s) already in sync` : `${changed} of ${synced.length} item(s) changed`)
})

runScript(program)
