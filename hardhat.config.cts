// Hardhat 2 configuration. A `.cts` file because package.json has "type": "module" (Hardhat 2 rejects an
// ESM `hardhat.config.ts`); the hardhat CLI loads it through ts-node, `import hre from "hardhat"` under
// `node --import tsx` through tsx (test/contracts/support/register-ts.ts does the same under vitest).
import path from "node:path"
import { subtask } from "hardhat/config"
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names"
import type { HardhatUserConfig } from "hardhat/types"
import "@nomicfoundation/hardhat-viem"
import "@nomicfoundation/hardhat-ignition-viem"

/** Exactly the version of the `solc` npm package pinned in package.json: Hardhat must not download one. */
const SOLC_VERSION = "0.8.30"

// No compiler download is possible here: compile with the solc-js build shipped by the `solc` package.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper()
  // loaded here, not at the top: the server imports this config and must not load the compiler
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc: { version(): string } = require("solc")
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version()
  }
})

// Sepolia: RPC_URL and PRIVATE_KEY (the deployer, which becomes admin, operator and content manager).
const rpcUrl = process.env["RPC_URL"]
const privateKey = process.env["PRIVATE_KEY"]

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      viaIR: true,
      // Cancun: transient storage (ReentrancyGuardTransient); supported by Sepolia and the Hardhat network.
      evmVersion: "cancun"
    }
  },
  defaultNetwork: "hardhat",
  networks: {
    hardhat: { chainId: 31337 },
    localhost: { url: "http://127.0.0.1:8545", chainId: 31337 },
    sepolia: {
      // Without RPC_URL the placeholder fails to resolve, naming the missing variable.
      url: rpcUrl !== undefined && rpcUrl !== "" ? rpcUrl : "https://set-RPC_URL.invalid",
      chainId: 11155111,
      accounts: privateKey !== undefined && privateKey !== "" ? [privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`] : []
    }
  },
  paths: {
    sources: "./contracts",
    tests: "./test/contracts",
    cache: "./cache",
    artifacts: "./artifacts"
  }
}

export default config
