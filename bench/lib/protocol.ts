import { Schema } from "effect"

/**
 * Messages between the bench (parent) and its server children over the IPC channel of `fork()`.
 * Decoded with Schema on arrival: an IPC message is `unknown` until checked.
 */

/** Child -> parent: the server listens and its viewers are funded. */
export const Ready = Schema.Struct({
  type: Schema.Literal("ready"),
  port: Schema.Number,
  /** Funded viewer addresses (in-process chain only; empty for the baselines). */
  viewers: Schema.Array(Schema.String),
  /** Milliseconds spent building the app (database, chain, migrations) and funding the viewers. */
  bootMs: Schema.Number,
  fundMs: Schema.Number
})
export type Ready = typeof Ready.Type

/** Child -> parent: a CPU profile was written. */
export const ProfileSaved = Schema.Struct({ type: Schema.Literal("profile-saved"), path: Schema.String })

/** Child -> parent: the raw chain settlement rate (bench/chain-rate.ts). */
export const ChainRate = Schema.Struct({
  type: Schema.Literal("chain-rate"),
  single: Schema.Struct({ calls: Schema.Number, seconds: Schema.Number, cpuMs: Schema.Number }),
  batch: Schema.Struct({ calls: Schema.Number, size: Schema.Number, seconds: Schema.Number, cpuMs: Schema.Number }),
  gas: Schema.Struct({ single: Schema.Number, batch: Schema.Number })
})
export type ChainRate = typeof ChainRate.Type

export const Failed = Schema.Struct({ type: Schema.Literal("failed"), reason: Schema.String })

/** Child -> parent: process.memoryUsage(), MB. */
export const Memory = Schema.Struct({
  type: Schema.Literal("memory"),
  rss: Schema.Number,
  heapTotal: Schema.Number,
  heapUsed: Schema.Number,
  external: Schema.Number,
  arrayBuffers: Schema.Number,
  /** SQL statements the process has sent through `pg` so far (BEGIN and COMMIT included). */
  sqlStatements: Schema.Number
})
export type Memory = typeof Memory.Type

export const ChildMessage = Schema.Union(Ready, ProfileSaved, ChainRate, Failed, Memory)
export type ChildMessage = typeof ChildMessage.Type

/** Parent -> child. */
export const ParentMessage = Schema.Union(
  Schema.Struct({ type: Schema.Literal("profile-start") }),
  Schema.Struct({ type: Schema.Literal("profile-stop"), path: Schema.String }),
  Schema.Struct({ type: Schema.Literal("memory") }),
  Schema.Struct({ type: Schema.Literal("stop") })
)
export type ParentMessage = typeof ParentMessage.Type

export const decodeChild = Schema.decodeUnknownOption(ChildMessage)
export const decodeParent = Schema.decodeUnknownOption(ParentMessage)
