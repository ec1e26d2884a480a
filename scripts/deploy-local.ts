/**
 * Deploys the contracts to a development node (`npm run chain`, or RPC_URL), wires the roles, lists the
 * demo catalogue and funds the demo viewers, then prints the variables that point the server at it.
 * The contracts go through the same deployment as `npm run deploy:sepolia` (src/chain/deploy.ts).
 */
import { Effect, Logger, LogLevel } from "effect"
import { DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"

const rpcUrl = process.env.RPC_URL ?? "http://127.0.0.1:8545"

const program = Effect.gen(function* () {
  const dev = yield* DevChain
  const d = dev.deployment
  console.log(`# deployed to ${rpcUrl}; start the server with:`)
  console.log(`RPC_URL=${rpcUrl}`)
  console.log("NETWORK_ID=31337")
  console.log("# Hardhat's public test account #0 (the deployer and operator)")
  console.log("PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
  console.log(`MOCK_USDC_ADDRESS=${d.usdc}`)
  console.log(`YIELD_VAULT_ADDRESS=${d.vault}`)
  console.log(`STREAMING_WALLET_ADDRESS=${d.wallet}`)
  console.log(`DEPLOYMENT_BLOCK=${d.fromBlock}`)
}).pipe(Effect.provide(DevChainDeployment({ demo: true, rpcUrl })), Logger.withMinimumLogLevel(LogLevel.Warning))

Effect.runPromise(program).catch((e: unknown) => {
  console.error(`deploy failed: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
})
