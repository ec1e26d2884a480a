import type { ChainResult, LifecycleRun, ReadRun, Target } from "./results.js"
import { round } from "./stats.js"

/** The issue's targets, reported against (never asserted). */

export interface TargetInput {
  readonly coldStart: ReadonlyArray<{ readonly ms: number; readonly ok: boolean }>
  readonly read: Readonly<Record<"session" | "content", Readonly<Record<"app" | "bare" | "express", ReadonlyArray<ReadRun>>>>>
  readonly writeBatched: ReadonlyArray<LifecycleRun>
  readonly writeUnbatched: ReadonlyArray<LifecycleRun>
  /** Peak RSS under load of the app with the in-process chain. */
  readonly loadPeak: number
  /** The same with the chain in a separate process (RPC_URL): the server's own memory. */
  readonly loadPeakExternalChain?: number
  readonly chain?: ChainResult
}

const at = <A extends { readonly connections: number }>(runs: ReadonlyArray<A>, c: number): A | undefined => runs.find((r) => r.connections === c)
const atUsers = (runs: ReadonlyArray<LifecycleRun>, u: number): LifecycleRun | undefined => runs.find((r) => r.users === u)

export const evaluateTargets = (i: TargetInput): Array<Target> => {
  const targets: Array<Target> = []
  for (const route of ["session", "content"] as const) {
    const label = route === "session" ? "GET /api/session/:id" : "GET /api/content"
    const ratios = [16, 64].map((c) => {
      const app = at(i.read[route].app, c)
      const ex = at(i.read[route].express, c)
      const exRps = ex?.rps ?? 0
      const exCpu = ex?.cpuUsPerRequest ?? 0
      return { c, ratio: exRps > 0 ? (app?.rps ?? 0) / exRps : 0, cpu: exCpu > 0 ? (app?.cpuUsPerRequest ?? 0) / exCpu : 0 }
    })
    targets.push({
      id: `read-${route}-vs-express`,
      target: `${label} ahead of the Express baseline at 16 and 64 connections`,
      measured: ratios.map((r) => `${r.c} conns: ${round(r.ratio, 2)}x Express's req/s (${round(r.cpu, 1)}x its CPU per request)`).join("; "),
      met: ratios.every((r) => r.ratio > 1)
    })
    const p99 = at(i.read[route].app, 64)?.latency.p99 ?? Infinity
    targets.push({
      id: `read-${route}-p99`,
      target: `${label} p99 under 20 ms at 64 connections`,
      measured: `p99 ${p99} ms`,
      met: p99 < 20
    })
  }
  const batched = atUsers(i.writeBatched, 64)
  targets.push({
    id: "write-rate",
    target: "at least 150 lifecycles/s at 64 users, batching on",
    measured: `${batched?.perSecond ?? 0} lifecycles/s`,
    met: (batched?.perSecond ?? 0) >= 150
  })
  const unbatched = atUsers(i.writeUnbatched, 64)
  if (unbatched) {
    const ratio = unbatched.settlementsPerSecond > 0 ? (batched?.settlementsPerSecond ?? 0) / unbatched.settlementsPerSecond : 0
    targets.push({
      id: "batch-gain",
      target: "settlement throughput at 64 users at least 10x the unbatched rate",
      measured: `end to end ${batched?.settlementsPerSecond ?? 0} vs ${unbatched.settlementsPerSecond} settlements/s = ${round(ratio, 2)}x${
        i.chain === undefined
          ? ""
          : `; chain port alone, settleBatch(${i.chain.batch.size}) vs settle: ${round(i.chain.batch.settlementsPerSecond / Math.max(1, i.chain.single.callsPerSecond), 2)}x`
      }`,
      met: ratio >= 10
    })
  }
  const external = i.loadPeakExternalChain ?? 0
  targets.push({
    id: "rss",
    target: "peak RSS under load below 300 MB (PostgreSQL)",
    measured:
      external > 0
        ? `${round(external, 0)} MB with the chain in its own process (RPC_URL, as in production); ${round(i.loadPeak, 0)} MB with the in-process development chain loaded into the server`
        : `${round(i.loadPeak, 0)} MB (with the in-process chain)`,
    met: external > 0 ? external < 300 : i.loadPeak > 0 && i.loadPeak < 300
  })
  const first = i.coldStart[0]
  targets.push({
    id: "cold-start",
    target: "cold start of `npm start` to a healthy /health under 5 s (embedded defaults)",
    measured: i.coldStart.map((c) => (c.ok ? `${round(c.ms / 1000, 2)} s` : "failed")).join(", then "),
    met: first !== undefined && first.ok && first.ms < 5000
  })
  return targets
}
