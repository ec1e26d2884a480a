import { Schema } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { LifecycleRun, ProfileSummary, ReadRun, Results } from "./results.js"
import { Results as ResultsSchema } from "./results.js"
import { round } from "./stats.js"
import { evaluateTargets } from "./targets.js"
import { type Panel, type Series, chart } from "./svg.js"

/**
 * Renders bench/RESULTS.md and bench/latency.svg from the results. Re-render without re-running:
 * `node --import tsx bench/lib/report.ts` (reads bench/results.json).
 */

const x = (value: number, base: number | undefined): string => (base === undefined || base <= 0 ? "–" : `${round(value / base, 2).toFixed(2)}x`)
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))
const num = (v: number): string => v.toLocaleString("en-US")
const row = (cells: ReadonlyArray<string | number>): string => `| ${cells.join(" | ")} |`

const readTable = (title: string, route: Readonly<Record<"app" | "bare" | "express", ReadonlyArray<ReadRun>>>): Array<string> => {
  const out = [
    `### ${title}`,
    "",
    row(["conns", "server", "req/s", "× bare", "× Express", "p50 ms", "p95 ms", "p99 ms", "CPU µs/req", "CPU × bare", "main thread", "PostgreSQL µs/req", "machine busy (other processes)", "errors"]),
    row(["---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"])
  ]
  for (const [i, bare] of route.bare.entries()) {
    const express = route.express[i]
    for (const [name, r] of [
      ["**app**", route.app[i]],
      ["Express + pg", express],
      ["bare node:http + pg", bare]
    ] as const) {
      if (!r) continue
      out.push(
        row([
          r.connections,
          name,
          num(r.rps),
          x(r.rps, bare.rps),
          x(r.rps, express?.rps),
          ms(r.latency.p50),
          ms(r.latency.p95),
          ms(r.latency.p99),
          num(r.cpuUsPerRequest),
          x(r.cpuUsPerRequest, bare.cpuUsPerRequest),
          `${r.mainThreadPct}%`,
          num(r.dbCpuUsPerRequest),
          `${r.machineBusyPct}% (${r.otherCores} cores)`,
          r.non2xx + r.errors
        ])
      )
    }
  }
  return [...out, ""]
}

const writeTable = (r: Results): Array<string> => {
  const out = [
    row([
      "users",
      "batching",
      "lifecycles/s",
      "× chain ceiling",
      "mean batch",
      "start p50 / p99 ms",
      "pause p50 / p99",
      "resume p50 / p99",
      "stop p50 / p99",
      "lifecycle p50 / p99",
      "CPU µs/lifecycle",
      "main thread",
      "PostgreSQL µs/lifecycle",
      "machine busy (other processes)",
      "not settled / failed"
    ]),
    row(["---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"])
  ]
  const line = (w: LifecycleRun, batching: "on" | "off") => {
    const ceiling = batching === "on" ? r.chain.batch.settlementsPerSecond : r.chain.single.callsPerSecond
    const problems = [...Object.entries(w.unsettled), ...Object.entries(w.failures)].map(([k, v]) => `${k}: ${v}`).join(", ")
    const s = w.steps
    out.push(
      row([
        w.users,
        batching,
        `**${w.perSecond}**`,
        x(w.perSecond, ceiling),
        w.meanBatchSize,
        `${ms(s.start.p50)} / ${ms(s.start.p99)}`,
        `${ms(s.pause.p50)} / ${ms(s.pause.p99)}`,
        `${ms(s.resume.p50)} / ${ms(s.resume.p99)}`,
        `${ms(s.stop.p50)} / ${ms(s.stop.p99)}`,
        `${ms(w.lifecycle.p50)} / ${ms(w.lifecycle.p99)}`,
        num(w.cpuUsPerLifecycle),
        `${w.mainThreadPct}%`,
        num(w.dbCpuUsPerLifecycle),
        `${w.machineBusyPct}% (${w.otherCores} cores)`,
        problems === "" ? "–" : problems
      ])
    )
  }
  for (const w of r.write.batched) line(w, "on")
  for (const w of r.write.unbatched) line(w, "off")
  return out
}

const profileSection = (p: ProfileSummary): Array<string> => [
  `#### ${p.label}`,
  "",
  `${num(p.busyMs)} ms on CPU in ${num(p.wallMs)} ms of wall time (${round((100 * p.busyMs) / Math.max(1, p.wallMs), 0)}% of one core), \`${p.file}\`.`,
  "",
  row(["self time by package", "share", "ms"]),
  row(["---", "---:", "---:"]),
  ...p.packages.slice(0, 10).map((k) => row([k.package, `${k.share}%`, num(k.selfMs)])),
  "",
  row(["on the stack (inclusive)", "share"]),
  row(["---", "---:"]),
  ...p.inclusive.slice(0, 12).map((k) => row([k.package, `${k.share}%`])),
  "",
  row(["top functions by self time", "where", "share"]),
  row(["---", "---", "---:"]),
  ...p.top.slice(0, 15).map((f) => row([`\`${f.name}\``, f.where === "" ? "" : `\`${f.where}\``, `${f.share}%`])),
  ""
]

export const renderMarkdown = (r: Results, analysis: string): string => {
  const m = r.meta
  const appSrv = r.servers.find((s) => s.name === "app")
  const bareSrv = r.servers.find((s) => s.name === "bare")
  const lines: Array<string> = [
    "# Benchmark results",
    "",
    `Generated by \`npm run bench\` (bench/run.ts) on ${m.date.slice(0, 16).replace("T", " ")} UTC in ${m.totalSeconds} s: Node ${m.node}, ${m.cores} × ${m.cpu}, ${m.memoryGb} GB, PostgreSQL ${m.postgres}, ${m.database}.`,
    `Every load run: ${m.warmupSeconds} s of warm-up (discarded), then ${m.seconds} s measured, load generator on loopback on the same machine.`,
    "Throughput varies 10-30% between runs on shared cores: read the **ratios** (measured in the same run, servers interleaved), and CPU per request (from the server process's own accounting in /proc), which is steadier than requests/s.",
    `The machine is shared: its 1-minute load average was ${m.loadAverage.before} when the bench began and ${m.loadAverage.after} when it ended; "machine busy" is the share of all cores busy during a run, and "other processes" the CPU (in cores) used by anything but the server, PostgreSQL and the load generator during it: where that is high, the run competed with work outside the bench.`,
    "",
    "![p50/p99 latency against concurrency](latency.svg)",
    "",
    "## Targets",
    "",
    "Reported against, not asserted.",
    "",
    row(["target", "measured", ""]),
    row(["---", "---", "---"]),
    ...r.targets.map((t) => row([t.target, t.measured, t.met ? "met" : "**missed**"])),
    "",
    "## Read path",
    "",
    `All three servers read the same row (session \`${m.readSession}\`, started through the API) from the same database with a pool of 10 connections. The baselines run the app's own SQL (bench/lib/baseline.ts) and build the same JSON. Ratios: × bare node:http + pg (the ceiling for Node + PostgreSQL here) and × Express 5 + pg.`,
    "",
    ...readTable("GET /api/session/:id?userAddress=…", r.read.session),
    ...readTable("GET /api/content", r.read.content),
    "### Variants of the app (GET /api/session/:id, 16 connections)",
    "",
    "Measured one after the other at the end of the read path, each next to the others in the same round; × bare is against the bare run of this round.",
    "",
    row(["server", "req/s", "× bare", "p50 ms", "p99 ms", "CPU µs/req", "CPU × bare"]),
    row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ...(() => {
      const bareAgain = r.variants.find((v) => v.name === "bare-again")?.run
      return r.variants.map((v) =>
        row([v.description, num(v.run.rps), x(v.run.rps, bareAgain?.rps), ms(v.run.latency.p50), ms(v.run.latency.p99), num(v.run.cpuUsPerRequest), x(v.run.cpuUsPerRequest, bareAgain?.cpuUsPerRequest)])
      )
    })(),
    "",
    "## Write path",
    "",
    `Full lifecycles (start → pause → resume → stop, the stop settling on chain) by ${m.viewers} distinct funded viewers, each virtual user cycling through its own viewers. "× chain ceiling": lifecycles/s as a share of the raw settlement rate of the chain port below (settleBatch settlements/s with batching on, settle calls/s with it off). Latencies per step are of the HTTP request; stop includes waiting for the settlement's receipt.`,
    "",
    ...writeTable(r),
    "",
    "What each step costs alone (one user, one keep-alive connection, sequential; server CPU includes the in-process chain's threads; SQL statements are counted in the server as it sends them through `pg`, BEGIN and COMMIT included, the settler's with stop):",
    "",
    row(["step", "requests", "server CPU µs", "of which main thread µs", "PostgreSQL CPU µs", "SQL statements", "p50 ms"]),
    row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ...r.write.steps.map((s) => row([s.step, s.count, num(s.cpuUs), num(s.mainCpuUs), num(s.dbCpuUs), s.sqlStatements, ms(s.p50Ms)])),
    row([
      "**lifecycle**",
      "",
      `**${num(r.write.steps.reduce((a, s) => a + s.cpuUs, 0))}**`,
      num(r.write.steps.reduce((a, s) => a + s.mainCpuUs, 0)),
      num(r.write.steps.reduce((a, s) => a + s.dbCpuUs, 0)),
      round(r.write.steps.reduce((a, s) => a + s.sqlStatements, 0), 1),
      ms(r.write.steps.reduce((a, s) => a + s.p50Ms, 0))
    ]),
    "",
    "## Settlement on the in-process chain (no HTTP, no database)",
    "",
    "Back-to-back calls through the app's Chain port (simulate, send, wait for the receipt; sends are serialised on one operator nonce).",
    "",
    row(["call", "calls/s", "settlements/s", "× settle", "CPU µs/settlement", "gas/settlement"]),
    row(["---", "---:", "---:", "---:", "---:", "---:"]),
    row(["settle", num(r.chain.single.callsPerSecond), num(r.chain.single.callsPerSecond), "1.00x", num(r.chain.single.cpuUsPerCall), num(r.chain.single.gas)]),
    row([
      `settleBatch(${r.chain.batch.size})`,
      num(r.chain.batch.callsPerSecond),
      num(r.chain.batch.settlementsPerSecond),
      x(r.chain.batch.settlementsPerSecond, r.chain.single.callsPerSecond),
      num(r.chain.batch.cpuUsPerSettlement),
      num(r.chain.batch.gasPerSettlement)
    ]),
    "",
    "## Memory and start-up",
    "",
    row(["server", "boot ms", "RSS at ready MB", "peak RSS under load MB", "× bare", "lifetime peak RSS (VmHWM) MB", "after load: V8 heap used / total, external MB"]),
    row(["---", "---:", "---:", "---:", "---:", "---:", "---"]),
    ...r.servers.map((s) =>
      row([
        s.description,
        num(s.bootMs + s.fundMs),
        num(s.readyRssMb),
        num(s.loadPeakRssMb),
        x(s.loadPeakRssMb, bareSrv?.loadPeakRssMb),
        num(s.lifetimePeakRssMb),
        s.memory === null ? "" : `${s.memory.heapUsed} / ${s.memory.heapTotal}, ${s.memory.external} (RSS ${s.memory.rss})`
      ])
    ),
    "",
    `App boot = building the Layers (database pool and migrations, Hardhat's EDR, contract deployment, demo catalogue) after the modules loaded, plus funding ${m.viewers} viewers (${num(appSrv?.fundMs ?? 0)} ms).`,
    "",
    `\`npm start\` on the embedded defaults (PGlite in memory, in-process chain; DATABASE_URL and RPC_URL unset), spawn to first 200 from /health: ${r.coldStart
      .map((c, i) => `run ${i + 1}: ${c.ok ? `${num(c.ms)} ms, RSS ${c.rssMb} MB at that moment` : "failed"}`)
      .join("; ")}.`,
    "",
    "## Where the time goes",
    "",
    r.profiles.length === 0
      ? "No profile was taken (every target met, or BENCH_PROFILE=0)."
      : "CPU profiles of the server process (V8 sampling profiler, 250 µs, through the inspector) during extra runs after the measured ones, summarised by bench/lib/cpuprofile.ts: self time by package, then the top functions by self time. The .cpuprofile files stay in bench/.tmp/ (open them in Chrome DevTools).",
    "",
    ...r.profiles.flatMap(profileSection),
    analysis.trim() === "" ? "" : analysis.trim(),
    "",
    "## Method",
    "",
    "- Servers: the app runs in a child process built from the same Layers as `src/main.ts` (bench/server.ts: `makeAppLive` with the in-process chain that `ChainLive` picks when RPC_URL is unset, NodeHttpServer on a free port), `LOG_LEVEL=warn`, `RATE_LIMIT_MAX_REQUESTS=0`, `AUTH_REQUIRED=false`, pool of 10. The baselines are child processes too. CPU time and RSS are read from /proc/<pid>/stat and /proc/<pid>/status of each server.",
    "- The app's Clock in the bench moves one second forward at every millisecond read (as the tests' TimeTravel does): a lifecycle driven in milliseconds then bills whole seconds and ends in an on-chain settlement instead of a CANCELLED session with nothing to pay. Sleeps and timeouts stay real.",
    "- Read path: autocannon 8, one route per run; latencies recorded per response at full precision (autocannon's own histogram is in whole ms). Write path: bench/lib/load.ts, one keep-alive connection per virtual user; only lifecycles whose stop answered inside the window with a payment count.",
    "- Settlement throughput is end to end (settled lifecycles/s); the SETTLEMENT_BATCH=off run uses a second server on a second throwaway database.",
    "- PostgreSQL CPU is the CPU of every `postgres` process on the machine during the run: the server is shared, so other users' queries land in it too.",
    "- Reconciler: `RECONCILE_INTERVAL=1 hour` (it runs once at start-up) because its grace period is measured on the fast clock and it would otherwise re-send settlements still in flight; `SESSION_MAX_IDLE=100000 hours` for the same reason.",
    ""
  ]
  return lines.join("\n")
}

export const renderSvg = (r: Results): string => {
  const colors = { app: "#d62728", express: "#1f77b4", bare: "#2ca02c" } as const
  const readPanel = (title: string, route: Readonly<Record<"app" | "bare" | "express", ReadonlyArray<ReadRun>>>): Panel => ({
    title,
    xLabel: "concurrent connections",
    yLabel: "latency, ms (log scale)",
    xTicks: r.meta.connections,
    references: [{ y: 20, label: "target: p99 < 20 ms at 64" }],
    series: (["app", "express", "bare"] as const).flatMap((name): Array<Series> => {
      const label = name === "app" ? "app" : name === "express" ? "Express + pg" : "bare node:http + pg"
      return [
        { label: `${label} p50`, color: colors[name], dash: "", points: route[name].map((q) => ({ x: q.connections, y: q.latency.p50 })) },
        { label: `${label} p99`, color: colors[name], dash: "6 4", points: route[name].map((q) => ({ x: q.connections, y: q.latency.p99 })) }
      ]
    })
  })
  const steps = [
    ["start", "#9467bd"],
    ["stop", "#ff7f0e"]
  ] as const
  const writePanel: Panel = {
    title: "Lifecycles (batching on)",
    xLabel: "concurrent users",
    yLabel: "latency, ms (log scale)",
    xTicks: r.meta.users,
    references: [],
    series: [
      ...steps.flatMap(([step, color]): Array<Series> => [
        { label: `${step} p50`, color, dash: "", points: r.write.batched.map((w) => ({ x: w.users, y: w.steps[step].p50 })) },
        { label: `${step} p99`, color, dash: "6 4", points: r.write.batched.map((w) => ({ x: w.users, y: w.steps[step].p99 })) }
      ]),
      { label: "whole lifecycle p50", color: "#555555", dash: "", points: r.write.batched.map((w) => ({ x: w.users, y: w.lifecycle.p50 })) },
      { label: "whole lifecycle p99", color: "#555555", dash: "6 4", points: r.write.batched.map((w) => ({ x: w.users, y: w.lifecycle.p99 })) }
    ]
  }
  return chart(
    "payg: p50 (solid) and p99 (dashed) latency against concurrency",
    [readPanel("GET /api/session/:id", r.read.session), readPanel("GET /api/content", r.read.content), writePanel],
    `npm run bench, ${r.meta.date.slice(0, 10)}, Node ${r.meta.node}, ${r.meta.cores} cores, PostgreSQL ${r.meta.postgres}; loopback load, ${r.meta.seconds} s per point`
  )
}

/**
 * Writes RESULTS.md (with bench/analysis.md and the slow-chain profile's bench/slow-chain.md appended
 * when present) and latency.svg next to results.json.
 */
export const render = (r: Results, benchDir: string): void => {
  const appended = ["analysis.md", "slow-chain.md"].map((f) => join(benchDir, f)).filter((f) => existsSync(f))
  const analysis = appended.map((f) => readFileSync(f, "utf8").trim()).join("\n\n")
  writeFileSync(join(benchDir, "RESULTS.md"), renderMarkdown(r, analysis))
  writeFileSync(join(benchDir, "latency.svg"), renderSvg(r))
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const dir = join(process.cwd(), "bench")
  const stored = Schema.decodeUnknownSync(Schema.parseJson(ResultsSchema))(readFileSync(join(dir, "results.json"), "utf8"))
  // the targets are derived: evaluate them again, so a change to their wording or rule shows up
  const appServer = stored.servers.find((s) => s.name === "app")
  const results: Results = {
    ...stored,
    targets: evaluateTargets({
      coldStart: stored.coldStart,
      read: stored.read,
      writeBatched: stored.write.batched,
      writeUnbatched: stored.write.unbatched,
      loadPeak: appServer?.loadPeakRssMb ?? 0,
      loadPeakExternalChain: stored.servers.find((s) => s.name === "app-rpc")?.loadPeakRssMb ?? 0,
      chain: stored.chain
    })
  }
  writeFileSync(join(dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`)
  render(results, dir)
  console.log("re-rendered bench/RESULTS.md and bench/latency.svg from bench/results.json")
}
