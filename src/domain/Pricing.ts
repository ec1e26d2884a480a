/**
 * Pricing rules (DESIGN.md section 4). Pure functions over bigint: no IO, no floats.
 */

/** Seconds that are billed for a given amount of active time: paused time never reaches here. */
export const billedSeconds = (activeMs: number): number => Math.floor(Math.max(0, activeMs) / 1000)

/**
 * The cost of watching `billed` seconds of an item priced `fullPrice` for `totalDuration` seconds:
 * `min(fullPrice, floor(fullPrice * billed / totalDuration))`. A viewer never pays more than the full price.
 */
export const costOf = (fullPrice: bigint, billed: number, totalDuration: number): bigint => {
  if (fullPrice <= 0n || billed <= 0) return 0n
  if (totalDuration <= 0) return fullPrice
  const pro = (fullPrice * BigInt(Math.floor(billed))) / BigInt(Math.floor(totalDuration))
  return pro < fullPrice ? pro : fullPrice
}
