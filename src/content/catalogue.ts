/**
 * A catalogue entry, as the database and the chain listing both take it (src/content/CatalogueSync.ts
 * validates one and writes it to both). Amounts in the token's smallest unit.
 */
export interface CatalogueEntry {
  readonly id: string
  readonly contentId: string
  readonly title: string
  readonly description: string
  readonly fullPrice: bigint
  readonly totalDuration: number
  readonly category: string
  readonly thumbnailUrl: string | null
  /** Lower-case address: the creator paid on chain. */
  readonly creatorAddress: string
  /** ISO 8601; the database's time of insertion when absent. */
  readonly createdAt?: string | undefined
}

/**
 * The demo catalogue: loaded by `npm run db:seed`, at start-up on the embedded defaults, listed on the
 * in-process chain with the same prices and durations, and what `npm run catalogue:sync` syncs without a
 * `--file`. `intro-to-defi` is exactly the seed's example.
 */
export const demoCatalogue: ReadonlyArray<CatalogueEntry> = [
  {
    id: "clp123456789",
    contentId: "intro-to-defi",
    title: "Introduction to DeFi",
    description: "Learn the basics of Decentralized Finance",
    fullPrice: 10_000_000n,
    totalDuration: 3600,
    category: "Education",
    thumbnailUrl: "https://example.com/thumb1.jpg",
    creatorAddress: "0x976ea74026e726554db657fa54763abd0c3a0aa9",
    createdAt: "2023-11-01T10:00:00.000Z"
  },
  {
    id: "clp223456789",
    contentId: "yield-farming-101",
    title: "Yield Farming 101",
    description: "Where DeFi yield comes from, and what it costs",
    fullPrice: 5_000_000n,
    totalDuration: 1800,
    category: "Education",
    thumbnailUrl: "https://example.com/thumb2.jpg",
    creatorAddress: "0x976ea74026e726554db657fa54763abd0c3a0aa9",
    createdAt: "2023-11-02T10:00:00.000Z"
  },
  {
    id: "clp323456789",
    contentId: "inside-the-evm",
    title: "Inside the EVM",
    description: "Opcodes, gas and storage, from a transaction to a state change",
    fullPrice: 25_000_000n,
    totalDuration: 7200,
    category: "Engineering",
    thumbnailUrl: "https://example.com/thumb3.jpg",
    creatorAddress: "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
    createdAt: "2023-11-03T10:00:00.000Z"
  },
  {
    id: "clp423456789",
    contentId: "stablecoin-economics",
    title: "Stablecoin Economics",
    description: "Collateral, pegs and redemptions",
    fullPrice: 8_000_000n,
    totalDuration: 2700,
    category: "Finance",
    thumbnailUrl: "https://example.com/thumb4.jpg",
    creatorAddress: "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
    createdAt: "2023-11-04T10:00:00.000Z"
  },
  {
    id: "clp523456789",
    contentId: "nft-art-stories",
    title: "Stories behind NFT Art",
    description: "Five artists on minting their work",
    fullPrice: 3_000_000n,
    totalDuration: 900,
    category: "Culture",
    thumbnailUrl: "https://example.com/thumb5.jpg",
    creatorAddress: "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f",
    createdAt: "2023-11-05T10:00:00.000Z"
  }
]

/** The seed's example viewer: 200 USDC principal and 50 USDC yield on the demo chain. */
export const seedViewer = "0x742c4b0f8e6cd2e0b35e8ef6dbc66f5c6d4b9e8a"
