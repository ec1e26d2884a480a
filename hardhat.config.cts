import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig, NetworksUserConfig } from "hardhat/types";
import "@nomicfoundation/hardhat-viem";
import "@nomicfoundation/hardhat-ignition-viem";

/** Exact version of the `solc` npm package (pinned in package.json). Hardhat must not download a compiler. */
const SOLC_VERSION = "0.8.30";

// Hardhat cannot download compilers on these machines: use the solc-js build shipped by the `solc` npm package.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc: { version(): string } = require("solc");
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version(),
  };
});

const networks: NetworksUserConfig = {
  hardhat: { chainId: 31337 },
  localhost: { url: "http://127.0.0.1:8545", chainId: 31337 },
};
const rpcUrl = process.env["RPC_URL"];
const privateKey = process.env["PRIVATE_KEY"];
networks["sepolia"] = {
  url: rpcUrl ?? "https://rpc.sepolia.org",
  chainId: 11155111,
  accounts: privateKey ? [privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`] : [],
};

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10000 },
      viaIR: true,
      evmVersion: "cancun",
    },
  },
  defaultNetwork: "hardhat",
  networks,
  paths: {
    sources: "./contracts",
    tests: "./test/contracts",
    cache: "./cache",
    artifacts: "./artifacts",
    ignition: "./ignition",
  },
};

export default config;
