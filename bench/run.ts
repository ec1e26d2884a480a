/**
 * `npm run bench`: measures and reports, never fails on a number (issue #9).
 *
 *   1. cold start of `npm start` on the embedded defaults (twice, then once more under the profiler
 *      when profiling);
 *   2. the raw settlement rate of the in-process chain through the app's Chain port (bench/chain-rate.ts);
^ *   3. the app (bench/server.ts, compiled), a bare node:http + pg server and Express + pg, all on one throwaway
 *      PostgreSQL database, read path at 1/16/64 connections, interleaved server by server; then two
 *      variants of the app (HTTP extras off; request logging on) next to bare at 16 connections;
 *   4. the write path (full lifecycles with on-chain settlement) at 1/16/64 users, batching on, and
 *      the cost of each step alone;
 *   5. CPU profiles of the app where a target is missed;
 *   6. the write path at 64 users with SETTLEMENT_BATCH=off, on a second throwaway database;
 *   7. the server's own memory: the app against a separate `hardhat node` (RPC_URL), read and write load;
 *   8. bench/results.json, bench/RESULTS.md and bench/latency.svg.
 *
 * `npm run bench -- --only=reads` measures the read path alone (step 3 without the variants, 16 and 64
 * connections, BENCH_ROUNDS rounds (3) with the servers interleaved in each), prints each round's
 * ratios to Express and their spread, profiles the app with BENCH_PROFILE=1, and writes nothing but
 * bench/.tmp: a quick measurement while working on the read path (a few minutes). BENCH_APP_EXTRA
 * (JSON) adds settings to the app's.
 *
 * `npm run bench -- --chain=slow` runs the slow-chain profile alone (bench/lib/slowChain.ts: 2 s blocks,
 * CONFIRMATIONS=2, 60 ms per RPC request, beside the instant chain in the same run, about 3 minutes) and
 * writes bench/slow-chain.md and its section of bench/RESULTS.md (BENCH_SLOW_SECONDS: the write path's
 * length per profile, 30).
 *
 * Environment: DATABASE_URL names the PostgreSQL server to create the throwaway databases on
 * (default postgres://postgres@127.0.0.1:5432/postgres); BENCH_SECONDS (6), BENCH_WARMUP (1.5),
 * BENCH_PROFILE (auto | 1 | 0).
 */
import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"
import { join } from "node:path"
import { randomBytes } from "node:crypto"
import { Schema } from "effect"
import pg from "pg"
import { type Child, type Server, coldStart, forkChild, memoryOf, profileDuring, startHardhatNode, startServer, stopChild } from "./lib/children.js"
import { summarise } from "./lib/cpuprofile.js"
import { lifecycleRun, post, readRun, sessionIdOf, stepCosts } from "./lib/load.js"
import { peakRssMb } from "./lib/proc.js"
import { render } from "./lib/report.js"
import { slowChainBench } from "./lib/slowChain.js"
import type { ChainResult, ColdStart, LifecycleRun, ProfileSummary, ReadRun, Results, ServerInfo, Variant } from "./lib/results.js"
import { evaluateTargets } from "./lib/targets.js"
import { round } from "./lib/stats.js"

const root = process.cwd()
const benchDir = join(root, "bench")
const tmp = join(benchDir, ".tmp")
mkdirSync(tmp, { recursive: true })
for (const f of readdirSync(tmp)) if (f.endsWith(".log")) rmSync(join(tmp, f))

const SECONDS = Number(process.env.BENCH_SECONDS ?? "6")
const WARMUP = Number(process.env.BENCH_WARMUP ?? "1.5")
const CONNECTIONS = [1, 16, 64] as const
const USERS = [1, 16, 64] as const
const VIEWERS = 64
const WRITE_CONTENT = "nft-art-stories"
const READ_CONTENT = "intro-to-defi"
const PROFILE = process.env.BENCH_PROFILE ?? "auto"
const POOL_SIZE = "10"
/** The settler's largest batch (SETTLEMENT_MAX_BATCH's default): the chain's ceiling is a batch this size. */
const MAX_BATCH = 100

/**
 * The servers, compiled, as `npm start` runs the app (dist/, plain node): through tsx every one would
 * carry tsx's own cost (its loader thread, about 100 MB of RSS; a name-keeping wrapper on every
 * function). Built at the start of each run from the current sources (bench/tsconfig.server.json).
 */
const BUILD = "bench/.tmp/build/bench"
const APP_SERVER = `${BUILD}/server.js`

const began = performance.now()
const stamp = () => `${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s`
const say = (line: string) => console.log(`[bench ${stamp()}] ${line}`)

// ---- throwaway databases ----

const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const runId = `${process.pid}_${randomBytes(3).toString("hex")}`
const created: Array<string> = []

const admin = async (statement: string): Promise<Array<Record<string, unknown>>> => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return (await client.query<Record<string, unknown>>(statement)).rows
  } finally {
    await client.end()
  }
}

const createDatabase = async (suffix: string): Promise<string> => {
  const name = `payg_bench_${runId}_${suffix}`
  await admin(`CREATE DATABASE ${name}`)
  created.push(name)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

const dropDatabases = async () => {
  for (const name of created.splice(0)) {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((e: unknown) => say(`could not drop ${name}: ${String(e)}`))
  }
}

// ---- children ----

const live: Array<Child> = []
const track = <C extends Child>(c: C): C => {
  live.push(c)
  return c
}
const stop = async (c: Child): Promise<number> => {
  const i = live.indexOf(c)
  if (i >= 0) live.splice(i, 1)
  return stopChild(c)
}

const cleanUp = async () => {
  for (const c of live.splice(0)) await stopChild(c, 3_000).catch(() => undefined)
  await dropDatabases()
}
process.on("SIGINT", () => {
  say("interrupted: stopping servers and dropping the databases")
  void cleanUp().then(() => process.exit(130))
})

const appEnv = (databaseUrl: string, batch: "on" | "off", extra: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  BENCH_VIEWERS: String(VIEWERS),
  BENCH_APP_ENV: JSON.stringify({
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: POOL_SIZE,
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "development",
    AUTH_REQUIRED: "false",
    LOG_LEVEL: "warn",
    RATE_LIMIT_MAX_REQUESTS: "0",
    SETTLEMENT_BATCH: batch,
    // the bench's clock runs fast (bench/server.ts): keep the read path's sessions clear of the idle
    // sweeper, and the periodic reconciler (whose grace period is on that clock) from re-sending
    // settlements still in flight; it still runs once at start-up
    SESSION_MAX_IDLE: "100000 hours",
    RECONCILE_INTERVAL: "1 hour",
    ...extra
  })
})

const ONLY = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3")

const compileServers = () => {
  rmSync(join(tmp, "build"), { recursive: true, force: true })
  const built = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "bench/tsconfig.server.json"], { cwd: root, stdio: "inherit" })
  if (built.status !== 0) throw new Error("could not compile the bench's servers (see above)")
  // the watch page's files, where src/watch/Static.ts looks for them: two levels above its module
  cpSync(join(root, "web"), join(tmp, "build/web"), { recursive: true })
  say(`compiled the servers into ${BUILD}/`)
}

const decodeExtra = Schema.decodeUnknownSync(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.String })))

/** `--only=reads`: see the header. */
const readsOnly = async () => {
  say(`read path only: ${ROUNDS} rounds of ${SECONDS} s after ${WARMUP} s of warm-up, load average ${round(loadavg()[0] ?? 0, 2)}`)
  compileServers()
  const db = await createDatabase("reads")
  const app = track(await startServer("app", APP_SERVER, { ...appEnv(db, "on", decodeExtra(process.env.BENCH_APP_EXTRA ?? "{}")), BENCH_VIEWERS: "1" }, join(tmp, "app.log")))
  const baselineEnv = { BENCH_DATABASE_URL: db, BENCH_POOL_SIZE: POOL_SIZE }
  const bare = track(await startServer("bare", `${BUILD}/baseline-bare.js`, baselineEnv, join(tmp, "bare.log")))
  const express = track(await startServer("express", `${BUILD}/baseline-express.js`, baselineEnv, join(tmp, "express.log")))
  const user = app.ready.viewers[0] ?? ""
  const started = await post(app.base, "/api/session/start", { userAddress: user, contentId: READ_CONTENT })
  const id = sessionIdOf(started.body)
  if (started.status !== 201 || id === undefined) throw new Error(`could not start a read-path session: ${started.status} ${started.body}`)
  const routes = { session: `/api/session/${id}?userAddress=${user}`, content: "/api/content" } as const
  const servers = [app, express, bare] as const
  for (const route of ["session", "content"] as const) for (const s of servers) await readRun(s.pid, `${s.base}${routes[route]}`, 16, 0, Math.min(3, SECONDS))
  const ratios: Record<string, Array<{ rps: number; cpu: number }>> = {}
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    for (const route of ["session", "content"] as const) {
      for (const c of [16, 64]) {
        const runs: Record<string, ReadRun> = {}
        for (const s of servers) runs[s.name] = await readRun(s.pid, `${s.base}${routes[route]}`, c, WARMUP, SECONDS)
        const a = runs["app"]
        const e = runs["express"]
        const b = runs["bare"]
        if (a === undefined || e === undefined || b === undefined) continue
        const key = `${route} c=${c}`
        const r = { rps: round(a.rps / e.rps, 2), cpu: round(a.cpuUsPerRequest / e.cpuUsPerRequest, 2) }
        ;(ratios[key] ??= []).push(r)
        say(
          `round ${round_} ${key.padEnd(13)} app ${a.rps} req/s ${a.cpuUsPerRequest} µs | express ${e.rps} req/s ${e.cpuUsPerRequest} µs | bare ${b.rps} req/s ${b.cpuUsPerRequest} µs | app/express ${r.rps}x req/s, ${r.cpu}x CPU${a.non2xx + a.errors > 0 ? ` (${a.non2xx} non-2xx, ${a.errors} errors)` : ""}`
        )
      }
    }
  }
  for (const [key, rs] of Object.entries(ratios)) {
    const rps = rs.map((r) => r.rps)
    const cpu = rs.map((r) => r.cpu)
    say(`${key.padEnd(13)} app/express req/s ${Math.min(...rps)}-${Math.max(...rps)}x, CPU/req ${Math.min(...cpu)}-${Math.max(...cpu)}x`)
  }
  if (PROFILE === "1") {
    for (const route of ["session", "content"] as const) {
      const file = await profileDuring(app, join(tmp, `app-read-${route}-c64.cpuprofile`), () => readRun(app.pid, `${app.base}${routes[route]}`, 64, 0.5, 4))
      const p = summarise(`app, ${route} at 64 connections`, file)
      say(`profile ${file}: ${round(p.busyMs, 0)} ms busy in ${round(p.wallMs, 0)} ms`)
      for (const row of p.inclusive.slice(0, 14)) say(`  on stack ${row.package.padEnd(40)} ${row.share}%`)
      for (const row of p.top.slice(0, 20)) say(`  self ${row.name.padEnd(28)} ${row.where.padEnd(70)} ${row.share}%`)
    }
  }
  say(`load average ${round(loadavg()[0] ?? 0, 2)} at the end`)
  for (const s of servers) await stop(s)
  await dropDatabases()
}

const CHAIN = process.argv.find((a) => a.startsWith("--chain="))?.slice("--chain=".length)

/** `--chain=slow`: see the header. */
const slowChainOnly = async () => {
  compileServers()
  await slowChainBench({
    tmp,
    benchDir,
    say,
    createDatabase,
    startApp: async (name, db, extra, env) => track(await startServer(name, APP_SERVER, { ...appEnv(db, "on", extra), ...env }, join(tmp, `${name}.log`))),
    stop
  })
  await dropDatabases()
}

const main = async () => {
  if (CHAIN === "slow") return slowChainOnly()
  if (CHAIN !== undefined) throw new Error(`--chain=${CHAIN}: only --chain=slow is known`)
  if (ONLY === "reads") return readsOnly()
  if (ONLY !== undefined) throw new Error(`--only=${ONLY}: only --only=reads is known`)
  say(`node ${process.version}, ${cpus().length} cores; ${SECONDS} s per run after ${WARMUP} s of warm-up`)
  compileServers()

  const loadBefore = round(loadavg()[0] ?? 0, 2)
  const profiling = PROFILE === "1" || PROFILE === "auto"
  const profiles: Array<ProfileSummary> = []

  // 1. cold start, of an up-to-date dist/ (as after `npm install`): a stale one would add the compile
  // that npm start's prestart runs once after the sources change
  const fresh = spawnSync(process.execPath, [join(root, "scripts/build-if-stale.mjs")], { cwd: root, stdio: "inherit" })
  if (fresh.status !== 0) throw new Error("could not build dist/ (see above)")
  const cold: Array<ColdStart> = []
  for (let i = 1; i <= 2; i++) {
    const r = await coldStart(root, join(tmp, "npm-start.log"))
    say(`cold start #${i}: ${r.ok ? `${r.ms} ms to a healthy /health, RSS ${r.rssMb} MB` : "never became healthy (see bench/.tmp/npm-start.log)"}`)
    cold.push(r)
  }
  const startupProfile = join(tmp, "startup")
  if (profiling && !(cold[0]?.ok === true && (cold[0]?.ms ?? Infinity) < 5000)) {
    rmSync(startupProfile, { recursive: true, force: true })
    mkdirSync(startupProfile, { recursive: true })
    const r = await coldStart(root, join(tmp, "npm-start.log"), { profileDir: startupProfile })
    const file = readdirSync(startupProfile).find((f) => f.endsWith(".cpuprofile"))
    if (file !== undefined) {
      profiles.push(summarise(`start-up of src/main.ts on the embedded defaults (${r.ms} ms to healthy, profiled), then SIGTERM`, join(startupProfile, file)))
    }
  }

  // 2. raw chain settlement rate
  const chainChild = track(
    forkChild(
      "chain-rate",
      "bench/chain-rate.ts",
      { BENCH_SECONDS: String(Math.max(3, SECONDS - 2)), BENCH_BATCH_SIZE: String(MAX_BATCH), ...(profiling ? { BENCH_PROFILE_DIR: tmp } : {}) },
      join(tmp, "chain-rate.log")
    )
  )
  const rate = await chainChild.next("chain-rate", 180_000)
  await stop(chainChild)
  const chain: ChainResult = {
    single: {
      callsPerSecond: round(rate.single.calls / rate.single.seconds, 0),
      cpuUsPerCall: round((rate.single.cpuMs * 1000) / rate.single.calls, 0),
      gas: rate.gas.single
    },
    batch: {
      size: rate.batch.size,
      callsPerSecond: round(rate.batch.calls / rate.batch.seconds, 1),
      settlementsPerSecond: round((rate.batch.calls * rate.batch.size) / rate.batch.seconds, 0),
      cpuUsPerSettlement: round((rate.batch.cpuMs * 1000) / (rate.batch.calls * rate.batch.size), 0),
      gasPerSettlement: round(rate.gas.batch / rate.batch.size, 0)
    }
  }
  say(`chain: settle ${chain.single.callsPerSecond}/s, settleBatch(${chain.batch.size}) ${chain.batch.callsPerSecond}/s = ${chain.batch.settlementsPerSecond} settlements/s`)

  // 3. servers on one database
  const dbA = await createDatabase("a")
  say(`database ${dbA.replace(/\/\/[^@]*@/, "//")}`)
  const app = track(await startServer("app", APP_SERVER, appEnv(dbA, "on"), join(tmp, "app.log")))
  say(`app ready on ${app.base}: boot ${round(app.ready.bootMs, 0)} ms, ${VIEWERS} viewers funded in ${round(app.ready.fundMs, 0)} ms`)
  const variantSpecs = [
    {
      name: "app-lean",
      description: "the app with ENABLE_HELMET, ENABLE_COMPRESSION and ENABLE_METRICS false",
      env: { ENABLE_HELMET: "false", ENABLE_COMPRESSION: "false", ENABLE_METRICS: "false" }
    },
    { name: "app-logging", description: "the app with LOG_LEVEL=info (one log line per request, the production default)", env: { LOG_LEVEL: "info" } }
  ] as const
  const variantServers: Array<{ readonly spec: (typeof variantSpecs)[number]; readonly server: Server }> = []
  for (const spec of variantSpecs) {
    // a database of its own: every instance deploys its own in-process chain, and a database binds to one chain
    const db = await createDatabase(spec.name.replace("app-", ""))
    variantServers.push({ spec, server: track(await startServer(spec.name, APP_SERVER, { ...appEnv(db, "on", spec.env), BENCH_VIEWERS: "1" }, join(tmp, `${spec.name}.log`))) })
  }
  const baselineEnv = { BENCH_DATABASE_URL: dbA, BENCH_POOL_SIZE: POOL_SIZE }
  const bare = track(await startServer("bare", `${BUILD}/baseline-bare.js`, baselineEnv, join(tmp, "bare.log")))
  const express = track(await startServer("express", `${BUILD}/baseline-express.js`, baselineEnv, join(tmp, "express.log")))

  // the read path's sessions, created through the real API: one per viewer
  const viewers = app.ready.viewers
  const sessions: Array<string> = []
  for (const userAddress of viewers) {
    const r = await post(app.base, "/api/session/start", { userAddress, contentId: READ_CONTENT })
    const id = sessionIdOf(r.body)
    if (r.status !== 201 || id === undefined) throw new Error(`could not start a read-path session: ${r.status} ${r.body}`)
    sessions.push(id)
  }
  const readUser = viewers[0] ?? ""
  const readSession = sessions[0] ?? ""
  say(`${sessions.length} sessions started through the API; the read path reads ${readSession}`)

  const servers: ReadonlyArray<Server> = [app, bare, express]
  const loadPeak = new Map<string, number>()
  const notePeak = (name: string, mb: number) => loadPeak.set(name, Math.max(loadPeak.get(name) ?? 0, mb))
  const routes = {
    session: `/api/session/${readSession}?userAddress=${readUser}`,
    content: "/api/content"
  } as const
  const read: Record<keyof typeof routes, Record<"app" | "bare" | "express", Array<ReadRun>>> = {
    session: { app: [], bare: [], express: [] },
    content: { app: [], bare: [], express: [] }
  }
  // prime: JIT and pools warm on every server and route before anything is measured
  for (const route of ["session", "content"] as const) {
    for (const s of servers) await readRun(s.pid, `${s.base}${routes[route]}`, 16, 0, Math.min(3, SECONDS))
  }
  say("primed every server on both routes")
  for (const route of ["session", "content"] as const) {
    for (const c of CONNECTIONS) {
      for (const s of servers) {
        const name = s.name === "app" ? "app" : s.name === "bare" ? "bare" : "express"
        const r = await readRun(s.pid, `${s.base}${routes[route]}`, c, WARMUP, SECONDS)
        read[route][name].push(r)
        notePeak(name, r.peakRssMb)
        say(
          `read ${route.padEnd(7)} c=${String(c).padStart(2)} ${name.padEnd(7)} ${String(r.rps).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ${r.cpuUsPerRequest} µs CPU/req${r.non2xx + r.errors > 0 ? `  (${r.non2xx} non-2xx, ${r.errors} errors)` : ""}`
        )
      }
    }
  }

  // variants of the app next to bare, session route, 16 connections
  const variants: Array<Variant> = []
  for (const { spec, server } of variantServers) {
    // each variant reads a session of its own database, created through its API like the main one
    const user = server.ready.viewers[0] ?? ""
    const started = await post(server.base, "/api/session/start", { userAddress: user, contentId: READ_CONTENT })
    const id = sessionIdOf(started.body) ?? ""
    const url = `${server.base}/api/session/${id}?userAddress=${user}`
    await readRun(server.pid, url, 16, 0, Math.min(3, SECONDS))
    const r = await readRun(server.pid, url, 16, WARMUP, SECONDS)
    variants.push({ name: spec.name, description: spec.description, run: r })
    say(`variant ${spec.name.padEnd(12)} c=16 ${String(r.rps).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ${r.cpuUsPerRequest} µs CPU/req`)
  }
  for (const s of [app, bare]) {
    const r = await readRun(s.pid, `${s.base}${routes.session}`, 16, WARMUP, SECONDS)
    variants.push({ name: `${s.name}-again`, description: s.name === "app" ? "the app as measured above, again, for comparison" : "bare node:http + pg again, in the same round", run: r })
    say(`variant ${`${s.name}-again`.padEnd(12)} c=16 ${String(r.rps).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ${r.cpuUsPerRequest} µs CPU/req`)
  }
  for (const { server } of variantServers) await stop(server)
  const barePeak = await stop(bare)
  const expressPeak = await stop(express)

  // 4. write path, batching on
  const writeBatched: Array<LifecycleRun> = []
  for (const u of USERS) {
    const r = await lifecycleRun(app.pid, app.base, viewers, u, Math.min(WARMUP, 1), SECONDS, WRITE_CONTENT)
    writeBatched.push(r)
    notePeak("app", r.peakRssMb)
    say(
      `write users=${String(u).padStart(2)} ${r.perSecond} lifecycles/s  stop p50 ${r.steps.stop.p50} ms p99 ${r.steps.stop.p99} ms  batch ${r.meanBatchSize}  ${r.cpuUsPerLifecycle} µs CPU/lifecycle${Object.keys(r.failures).length + Object.keys(r.unsettled).length > 0 ? `  failures ${JSON.stringify(r.failures)} unsettled ${JSON.stringify(r.unsettled)}` : ""}`
    )
  }

  const appMemory = await memoryOf(app)
  const steps = await stepCosts(app.pid, app.base, viewers, WRITE_CONTENT, () => memoryOf(app).then((m) => m.sqlStatements))
  say(`step costs (one user): ${steps.map((s) => `${s.step} ${s.cpuUs} µs CPU, p50 ${s.p50Ms} ms`).join("; ")}`)

  // 5. profiles where a target is missed
  const preliminary = evaluateTargets({ coldStart: cold, read, writeBatched, writeUnbatched: [], loadPeak: loadPeak.get("app") ?? 0 })
  const wantProfiles = PROFILE === "1" || (PROFILE === "auto" && preliminary.some((t) => !t.met))
  if (wantProfiles) {
    const readProfile = await profileDuring(app, join(tmp, "app-read-session-c64.cpuprofile"), () =>
      readRun(app.pid, `${app.base}${routes.session}`, 64, 0.5, 4)
    )
    profiles.push(summarise("app, GET /api/session/:id at 64 connections", readProfile))
    const writeProfile = await profileDuring(app, join(tmp, "app-write-u64.cpuprofile"), () =>
      lifecycleRun(app.pid, app.base, viewers, 64, 0.5, 4, WRITE_CONTENT)
    )
    profiles.push(summarise("app, lifecycles at 64 users (batching on)", writeProfile))
    profiles.push(summarise("chain port alone, back-to-back settle", join(tmp, "chain-settle.cpuprofile")))
    profiles.push(summarise(`chain port alone, back-to-back settleBatch(${MAX_BATCH})`, join(tmp, "chain-settleBatch.cpuprofile")))
    say(`profiles written to bench/.tmp/*.cpuprofile`)
  }
  const appPeak = await stop(app)

  // 6. write path, batching off
  const dbB = await createDatabase("b")
  const appOff = track(await startServer("app-batch-off", APP_SERVER, appEnv(dbB, "off"), join(tmp, "app-batch-off.log")))
  const writeUnbatched: Array<LifecycleRun> = []
  {
    const r = await lifecycleRun(appOff.pid, appOff.base, appOff.ready.viewers, 64, Math.min(WARMUP, 1), SECONDS, WRITE_CONTENT)
    writeUnbatched.push(r)
    notePeak("app-batch-off", r.peakRssMb)
    say(`write users=64 SETTLEMENT_BATCH=off ${r.perSecond} lifecycles/s  stop p50 ${r.steps.stop.p50} ms p99 ${r.steps.stop.p99} ms`)
  }
  const appOffMemory = await memoryOf(appOff)
  const appOffPeak = peakRssMb(appOff.pid)
  await stop(appOff)

  // 7. the server's own memory: the chain in a separate `hardhat node` reached over HTTP (RPC_URL, as
  // in production), PostgreSQL; the same read and write load
  const dbC = await createDatabase("c")
  const node = await startHardhatNode(join(tmp, "hardhat-node.log"))
  let appRpc: Server | undefined
  let appRpcPeak = 0
  let appRpcMemory: ServerInfo["memory"] = null
  try {
    appRpc = track(await startServer("app-rpc", APP_SERVER, { ...appEnv(dbC, "on"), BENCH_RPC_URL: node.url }, join(tmp, "app-rpc.log")))
    const user = appRpc.ready.viewers[0] ?? ""
    const started = await post(appRpc.base, "/api/session/start", { userAddress: user, contentId: READ_CONTENT })
    const url = `${appRpc.base}/api/session/${sessionIdOf(started.body) ?? ""}?userAddress=${user}`
    const r = await readRun(appRpc.pid, url, 64, WARMUP, SECONDS)
    notePeak("app-rpc", r.peakRssMb)
    const w = await lifecycleRun(appRpc.pid, appRpc.base, appRpc.ready.viewers, 64, Math.min(WARMUP, 1), SECONDS, WRITE_CONTENT)
    notePeak("app-rpc", w.peakRssMb)
    appRpcMemory = await memoryOf(appRpc)
    appRpcPeak = await stop(appRpc)
    say(`chain out of process: read c=64 ${r.rps} req/s, write users=64 ${w.perSecond} lifecycles/s; peak RSS under load ${round(loadPeak.get("app-rpc") ?? 0, 0)} MB`)
  } finally {
    node.stop()
  }
  await dropDatabases()

  // 8. results
  const info = (name: string, description: string, server: Server, lifetime: number, memory: ServerInfo["memory"]): ServerInfo => ({
    name,
    description,
    bootMs: round(server.ready.bootMs, 0),
    fundMs: round(server.ready.fundMs, 0),
    lifetimePeakRssMb: round(lifetime, 0),
    loadPeakRssMb: round(loadPeak.get(name) ?? 0, 0),
    readyRssMb: round(server.readyRssMb, 0),
    memory
  })
  const postgres = await admin("SHOW server_version").then((rows) => String(rows[0]?.server_version ?? "?")).catch(() => "?")
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? "?",
      cores: cpus().length,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      postgres,
      database: `throwaway databases on ${new URL(adminUrl).host} (created and dropped by the bench)`,
      warmupSeconds: WARMUP,
      seconds: SECONDS,
      connections: [...CONNECTIONS],
      users: [...USERS],
      viewers: VIEWERS,
      readSession: readSession,
      totalSeconds: 0,
      loadAverage: { before: loadBefore, after: round(loadavg()[0] ?? 0, 2) }
    },
    coldStart: cold,
    chain,
    servers: [
      info("app", "the app: Effect HttpApi + @effect/sql-pg + in-process chain (bench/server.ts)", app, appPeak, appMemory),
      info("bare", "node:http + pg, same SQL (bench/baseline-bare.ts)", bare, barePeak, null),
      info("express", "Express 5 + pg, same SQL (bench/baseline-express.ts)", express, expressPeak, null),
      info("app-batch-off", "the app with SETTLEMENT_BATCH=off (write path only)", appOff, appOffPeak, appOffMemory),
      ...(appRpc === undefined
        ? []
        : [
            info(
              "app-rpc",
              "the app with the chain in a separate `hardhat node` over HTTP (RPC_URL), PostgreSQL: the server's own memory (read c=64, then lifecycles at 64 users)",
              appRpc,
              appRpcPeak,
              appRpcMemory
            )
          ])
    ],
    read,
    write: { batched: writeBatched, unbatched: writeUnbatched, steps },
    variants,
    profiles,
    targets: evaluateTargets({
      coldStart: cold,
      read,
      writeBatched,
      writeUnbatched,
      loadPeak: loadPeak.get("app") ?? 0,
      loadPeakExternalChain: loadPeak.get("app-rpc") ?? 0,
      chain
    })
  }
  const final: Results = { ...results, meta: { ...results.meta, totalSeconds: round((performance.now() - began) / 1000, 0) } }
  writeFileSync(join(benchDir, "results.json"), `${JSON.stringify(final, null, 2)}\n`)
  render(final, benchDir)
  say(`wrote bench/results.json, bench/RESULTS.md and bench/latency.svg in ${final.meta.totalSeconds} s`)
  for (const t of final.targets) say(`${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`)
}

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    console.error(e)
    await cleanUp()
    process.exit(1)
  }
)
