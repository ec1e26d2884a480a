import { execFileSync } from "node:child_process"

/**
 * Compiles the contracts once before any test file runs (Hardhat's cache makes it a no-op when nothing
 * changed): a fresh clone has no artifacts, and test files compiling in parallel would race on them.
 */
export default function setup(): void {
  execFileSync("node_modules/.bin/hardhat", ["compile", "--quiet"], { stdio: "inherit" })
}
