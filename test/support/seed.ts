/**
 * The one fast-check seed of a test run, so a property failure can be replayed exactly: `FC_SEED` when
 * set (CI sets a fixed one, then runs the property tests again with a random one), else a random seed.
 * The global setup picks it once and prints it; every test file's fast-check uses it (fastCheckSeed.ts),
 * and fast-check prints it again with the failing path in every counterexample report.
 */

/** The seed from `FC_SEED` (a 32-bit integer), or a random one; a malformed value is an error, not ignored. */
export const fcSeedFrom = (value: string | undefined): number => {
  if (value === undefined || value.trim() === "") return (Math.random() * 2 ** 32) | 0
  const seed = Number(value)
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 32) throw new Error(`FC_SEED must be a 32-bit integer, got ${JSON.stringify(value)}`)
  return seed | 0
}

declare module "vitest" {
  export interface ProvidedContext {
    readonly fcSeed: number
  }
}
