import { defineConfig } from "vitest/config"

/** `npm run test:e2e`: the browser tests (test/e2e), kept out of `npm test` because they need Chromium. */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    setupFiles: ["test/support/fastCheckSeed.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    sequence: { hooks: "list" }
  }
})
