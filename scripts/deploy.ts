/**
 * Deploys the contracts to the chain at RPC_URL from PRIVATE_KEY (the deployer) through the one
 * deployment of src/chain/deploy.ts, and prints the settings that point the server at it.
 *
 *   RPC_URL=... PRIVATE_KEY=0x... npm run deploy:sepolia -- [--token 0x...] [--admin 0x...] [--operator 0x...]
 *     [--content-manager 0x...] [--pauser 0x...] [--yield-manager 0x...] [--require-authorization true|false]
 *
 * Without --token a MockUSDC is deployed (test networks only: anyone can mint it; refused on main
 * networks); with it, the given ERC-20 is used and its decimals are read (and refused unless supported).
 * Every role defaults to the deployer. `--network-id N` refuses any other chain (deploy:sepolia: 11155111).
 * `--require-authorization true` deploys a StreamingWallet that settles nothing without the viewer's signed
 * SessionAuthorization (docs/CONTRACTS.md). It defaults to false for now, while the API does not yet carry
 * viewers' signatures; once it does, true becomes the default and the server refuses to start in
 * production against a wallet that does not require them.
 */
import { Console, Effect } from "effect"
import { getAddress } from "viem"
import { deployPaygContracts } from "../src/chain/deploy.js"
import { MAINNET_CHAIN_IDS, readToken, unsupportedToken } from "../src/chain/token.js"
import { addressFlag, attempt, clientsFor, fail, flags, privateKey, runScript } from "./support/cli.js"

const program = Effect.gen(function* () {
  const f = yield* flags(["network-id", "token", "admin", "operator", "content-manager", "pauser", "yield-manager", "require-authorization"])
  const requireFlag = f["require-authorization"] ?? "false"
  if (requireFlag !== "true" && requireFlag !== "false") return yield* fail(`--require-authorization is true or false, not ${requireFlag}`)
  const requireAuthorization = requireFlag === "true"
  const { chainId, publicClient, walletClient } = yield* clientsFor(yield* privateKey)
  if (f["network-id"] !== undefined && f["network-id"] !== String(chainId)) {
    return yield* fail(`this deployment is for chain ${f["network-id"]}, but RPC_URL serves chain ${chainId}`)
  }
  const deployer = walletClient.account.address
  const token = yield* addressFlag("token", f.token)
  if (token === undefined && MAINNET_CHAIN_IDS.has(chainId)) {
    return yield* fail(`chain ${chainId} is a main network: MockUSDC (mintable by anyone) is never deployed there; give --token <the token's address>`)
  }
  if (token !== undefined) {
    const info = yield* attempt("cannot read the token", () => readToken(publicClient, token))
    const refusal = unsupportedToken(info)
    if (refusal !== undefined) return yield* fail(`${refusal}; nothing was deployed`)
  }
  const roles = {
    admin: (yield* addressFlag("admin", f.admin)) ?? deployer,
    operator: (yield* addressFlag("operator", f.operator)) ?? deployer,
    contentManager: (yield* addressFlag("content-manager", f["content-manager"])) ?? deployer,
    pauser: (yield* addressFlag("pauser", f.pauser)) ?? deployer,
    yieldManager: (yield* addressFlag("yield-manager", f["yield-manager"])) ?? deployer
  }
  yield* Console.error(`deploying to chain ${chainId} from ${deployer}${token === undefined ? " (with a new MockUSDC)" : ` (token ${token})`}...`)
  const d = yield* attempt("deployment failed", () =>
    deployPaygContracts(publicClient, walletClient, roles, token === undefined ? { requireAuthorization } : { token, requireAuthorization })
  )
  const info = yield* attempt("cannot read the token", () => readToken(publicClient, d.usdc))
  // stdout: settings only (KEY=value and comments), so that it can be saved as an env file
  yield* Console.log(`# payg on chain ${chainId}: token ${info.symbol} (${info.decimals} decimals)${token === undefined ? ", a MockUSDC deployed now" : ""}`)
  yield* Console.log(`NETWORK_ID=${chainId}`)
  yield* Console.log(`MOCK_USDC_ADDRESS=${getAddress(d.usdc)}`)
  yield* Console.log(`YIELD_VAULT_ADDRESS=${getAddress(d.vault)}`)
  yield* Console.log(`STREAMING_WALLET_ADDRESS=${getAddress(d.wallet)}`)
  yield* Console.log(`DEPLOYMENT_BLOCK=${d.fromBlock}`)
  yield* Console.log(`# viewers' signed authorizations ${requireAuthorization ? "required" : "NOT required (--require-authorization true to require them)"}`)
  yield* Console.log(`# roles: admin ${roles.admin}, operator ${roles.operator} (the server's PRIVATE_KEY),`)
  yield* Console.log(`#   content manager ${roles.contentManager} (catalogue:sync's key), pauser ${roles.pauser}, yield manager ${roles.yieldManager}`)
})

runScript(program)
