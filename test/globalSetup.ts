import { execFileSync } from "node:child_process"
import type { TestProject } from "vitest/node"
import { fcSeedFrom } from "./support/seed.js"

/**
 * Before any test file runs:
 * - compiles the contracts once (Hardhat's cache makes it a no-op when nothing changed): a fresh clone
 *   has no artifacts, and test files compiling in parallel would race on them;
 * - picks the run's fast-check seed and prints it, so any property failure can be replayed with
 *   `FC_SEED=<seed> npx vitest run <file>`.
 */
export default function setup(project: TestProject): void {
  execFileSync("node_modules/.bin/hardhat", ["compile", "--quiet"], { stdio: "inherit" })
  const seed = fcSeedFrom(process.env.FC_SEED)
  project.provide("fcSeed", seed)
  console.log(`fast-check seed: ${seed} (replay with FC_SEED=${seed})`)
}
