import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the browser tests need Chromium: `npm run test:e2e` (vitest.e2e.config.ts)
    exclude: [...configDefaults.exclude, "test/e2e/**"],
    globalSetup: ["test/globalSetup.ts"],
    // the run's fast-check seed (FC_SEED, else random; printed by the global setup)
    setupFiles: ["test/support/fastCheckSeed.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    sequence: { hooks: "list" }
  }
})
