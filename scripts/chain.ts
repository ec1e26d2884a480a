/**
 * `npm run chain`: a local `hardhat node` on 127.0.0.1:8545. `--block-time S` makes it behave like a
 * public chain: a block every S seconds and no automining, so every transaction waits for the next
 * block (`npm run chain -- --block-time 12` is Sepolia's pace). Further arguments go to hardhat node.
 */
import { spawn } from "node:child_process"
import { parseArgs } from "node:util"

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  options: { "block-time": { type: "string" } },
  strict: true,
  allowPositionals: true
})

const env: Record<string, string> = {}
const blockTime = values["block-time"]
if (blockTime !== undefined) {
  const seconds = Number(blockTime)
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error("--block-time must be a positive number of seconds")
    process.exit(2)
  }
  env["HARDHAT_BLOCK_TIME"] = String(Math.round(seconds * 1000))
  env["HARDHAT_AUTOMINE"] = "false"
  console.log(`a block every ${seconds} s, no automining: transactions wait for the next block`)
}

const child = spawn("node_modules/.bin/hardhat", ["node", "--hostname", "127.0.0.1", "--port", "8545", ...positionals], {
  stdio: "inherit",
  env: { ...process.env, ...env }
})
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal))
child.on("exit", (code) => process.exit(code ?? 0))
