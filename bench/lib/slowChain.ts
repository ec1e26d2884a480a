import { Effect, Exit, Option, Schema, Scope } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { Agent } from "node:http"
import { join } from "node:path"
import { rpcProxy } from "../../test/support/rpcProxy.js"
import { type Server, profileDuring, startHardhatNode } from "./children.js"
import { summarise } from "./cpuprofile.js"
import { call, follow, type HttpReply } from "./http.js"
import { readRun } from "./load.js"
import type { ReadRun } from "./results.js"
import { type Latency, latencyOf, round } from "./stats.js"

/**
 * `npm run bench -- --chain=slow` (issue 15): the app against a `hardhat node` mining a block every
 * BLOCK_MS, CONFIRMATIONS=2, behind a JSON-RPC proxy in this process that adds LATENCY_MS to every
 * request (test/support/rpcProxy.ts), beside the same load on the instant profile (the in-process
 * chain, which mines each transaction as it is sent), in the same run. Both servers keep the wall clock
 * (BENCH_REAL_CLOCK): each virtual user starts a session, watches WATCH_MS, stops, and starts again.
 * Every stop answered 202 `settling` is followed, as the watch page does, through the session's event
 * stream (GET /api/session/:id/events) until its COMPLETED status event, which is when the payment
 * counts as confirmed for the viewer.
 */

export const BLOCK_MS = 2_000
export const CONFIRMATIONS = 2
export const LATENCY_MS = 60
const USERS = 64
const WATCH_MS = 1_100
/** How long the payments still in flight at the end of the write path are followed. */
const TAIL_MS = 30_000
/** How long the write path runs per profile; lifecycles take WATCH_MS plus the two answers. */
const WRITE_SECONDS = Number(process.env.BENCH_SLOW_SECONDS ?? "30")
const READ_SECONDS = 3
const WRITE_CONTENT = "nft-art-stories"

export interface SlowChainDeps {
  readonly tmp: string
  readonly benchDir: string
  readonly say: (line: string) => void
  readonly createDatabase: (suffix: string) => Promise<string>
  /** Starts bench/server.ts (compiled) with BENCH_APP_ENV built from `extra` and the rest of `env`. */
  readonly startApp: (name: string, db: string, extra: Readonly<Record<string, string>>, env: Readonly<Record<string, string>>) => Promise<Server>
  readonly stop: (s: Server) => Promise<number>
}

interface Payment {
  readonly txHash: string
  readonly blockNumber: number
  readonly gasUsed: string
  readonly batchSize: number
}

const PaymentSchema = Schema.Struct({ txHash: Schema.String, blockNumber: Schema.Number, gasUsed: Schema.String, batchSize: Schema.Number })
const Reply = Schema.parseJson(
  Schema.Struct({
    data: Schema.Struct({
      sessionId: Schema.optional(Schema.String),
      status: Schema.optional(Schema.String),
      payment: Schema.optional(Schema.NullOr(PaymentSchema))
    })
  })
)
const decodeReply = Schema.decodeUnknownOption(Reply)
/** The data of the event stream's `status` event. */
const StatusEvent = Schema.parseJson(Schema.Struct({ status: Schema.String, payment: Schema.NullOr(PaymentSchema) }))
const decodeStatus = Schema.decodeUnknownOption(StatusEvent)

interface Answer {
  readonly status: number
  readonly ms: number
  readonly sessionId: string | undefined
  readonly sessionStatus: string | undefined
  readonly payment: Payment | undefined
}

const answer = (r: HttpReply): Answer => {
  const d = Option.getOrUndefined(Option.map(decodeReply(r.body), (reply) => reply.data))
  return { status: r.status, ms: r.ms, sessionId: d?.sessionId, sessionStatus: d?.status, payment: d?.payment ?? undefined }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface WriteFigures {
  readonly lifecycles: number
  readonly start: Latency
  readonly stop: Latency
  /** Stop answers by HTTP status. */
  readonly stopStatuses: Record<string, number>
  /** Answers with a 5xx status, of every request the driver made (event streams included). */
  readonly serverErrors: number
  readonly otherFailures: number
  /** From sending the stop to seeing the session COMPLETED (the stop's own 200, or the event stream's status event). */
  readonly toConfirmed: Latency
  /** Stops whose session was not COMPLETED by the end of the wait. */
  readonly unconfirmed: number
  readonly payments: ReadonlyArray<Payment>
  readonly lastSession: { readonly id: string; readonly user: string } | undefined
}

/**
 * USERS virtual users, each on its own viewer: start, watch WATCH_MS, stop, again, for `seconds`. A stop
 * answered 202 is followed on the session's event stream meanwhile (the user goes on to its next
 * session); the streams still open at the end are given TAIL_MS.
 */
const writePath = async (base: string, viewers: ReadonlyArray<string>, seconds: number): Promise<WriteFigures> => {
  const url = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: USERS })
  // one connection per open stream
  const streams = new Agent({ keepAlive: false })
  const starts: Array<number> = []
  const stops: Array<number> = []
  const confirmed: Array<number> = []
  const stopStatuses: Record<string, number> = {}
  const payments = new Map<string, Payment>()
  const waiting = new Set<string>()
  const following: Array<Promise<void>> = []
  let serverErrors = 0
  let otherFailures = 0
  let lastSession: { id: string; user: string } | undefined
  const note = (status: number) => {
    if (status >= 500) serverErrors += 1
    else if (status < 200 || status >= 300) otherFailures += 1
  }
  /** Follows the session's event stream until its payment is confirmed (or the session ends otherwise). */
  const confirm = async (id: string, viewer: string, sentAt: number) => {
    waiting.add(id)
    const status = await follow(streams, url, `/api/session/${id}/events?userAddress=${viewer}`, (e) => {
      if (e.event !== "status") return false
      const s = Option.getOrUndefined(decodeStatus(e.data))
      if (s === undefined) return false
      if (s.status === "COMPLETED" && s.payment !== null) {
        confirmed.push(performance.now() - sentAt)
        payments.set(id, s.payment)
        waiting.delete(id)
        return true
      }
      if (s.status !== "SETTLING") waiting.delete(id)
      return s.status !== "SETTLING"
    })
    // a stream cut at the end of the tail is not an answer of the server's
    if (waiting.has(id) && status === 0) return
    note(status)
  }
  const deadline = performance.now() + seconds * 1000
  const user = async (viewer: string) => {
    while (performance.now() < deadline) {
      const started = answer(await call(agent, url, "POST", "/api/session/start", { userAddress: viewer, contentId: WRITE_CONTENT }))
      note(started.status)
      if (started.status !== 201 || started.sessionId === undefined) {
        await pause(200)
        continue
      }
      starts.push(started.ms)
      const id = started.sessionId
      await pause(WATCH_MS)
      const sentAt = performance.now()
      const stopped = answer(await call(agent, url, "POST", "/api/session/stop", { sessionId: id, userAddress: viewer }))
      note(stopped.status)
      stops.push(stopped.ms)
      stopStatuses[String(stopped.status)] = (stopStatuses[String(stopped.status)] ?? 0) + 1
      if (stopped.sessionStatus === "completed" && stopped.payment !== undefined) {
        confirmed.push(stopped.ms)
        payments.set(id, stopped.payment)
      } else if (stopped.status === 202) following.push(confirm(id, viewer, sentAt))
      lastSession = { id, user: viewer }
    }
  }
  await Promise.all(viewers.slice(0, USERS).map(user))
  await Promise.race([Promise.all(following), pause(TAIL_MS)])
  streams.destroy()
  await Promise.all(following)
  agent.destroy()
  return {
    lifecycles: stops.length,
    start: latencyOf(starts),
    stop: latencyOf(stops),
    stopStatuses,
    serverErrors,
    otherFailures,
    toConfirmed: latencyOf(confirmed),
    unconfirmed: waiting.size,
    payments: [...payments.values()],
    lastSession
  }
}

export interface BlockFigures {
  readonly blocks: number
  /** Transactions in the blocks that hold a settlement (every one the operator's). */
  readonly txPerBlock: { readonly mean: number; readonly max: number }
  readonly settlementsPerBlock: { readonly mean: number; readonly max: number }
  readonly settlementsPerTx: number
  readonly gasPerSettlement: number
}

const BlockTxs = Schema.parseJson(Schema.Struct({ result: Schema.Struct({ transactions: Schema.Array(Schema.String) }) }))
const decodeBlock = Schema.decodeUnknownPromise(BlockTxs)

/** Per block holding one of `payments`: its transactions, counted on the node, and the settlements it carries. */
const blockFigures = async (nodeUrl: string, payments: ReadonlyArray<Payment>): Promise<BlockFigures> => {
  const byTx = new Map<string, Payment>()
  for (const p of payments) byTx.set(p.txHash, p)
  const settlementsByBlock = new Map<number, number>()
  for (const p of payments) settlementsByBlock.set(p.blockNumber, (settlementsByBlock.get(p.blockNumber) ?? 0) + 1)
  const txCounts: Array<number> = []
  for (const block of settlementsByBlock.keys()) {
    const r = await fetch(nodeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBlockByNumber", params: [`0x${block.toString(16)}`, false] })
    })
    txCounts.push((await decodeBlock(await r.text())).result.transactions.length)
  }
  const perBlock = [...settlementsByBlock.values()]
  const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)
  const gas = [...byTx.values()].reduce((a, p) => a + Number(p.gasUsed), 0)
  return {
    blocks: perBlock.length,
    txPerBlock: { mean: round(mean(txCounts), 2), max: Math.max(0, ...txCounts) },
    settlementsPerBlock: { mean: round(mean(perBlock), 1), max: Math.max(0, ...perBlock) },
    settlementsPerTx: round(payments.length / Math.max(1, byTx.size), 1),
    gasPerSettlement: round(gas / Math.max(1, payments.length), 0)
  }
}

export interface ProfileFigures {
  readonly name: "instant" | "slow"
  readonly viewers: number
  readonly fundMs: number
  readonly write: WriteFigures
  readonly blocks: BlockFigures | undefined
  readonly reads: { readonly session: ReadRun | undefined; readonly content: ReadRun }
}

const readPath = async (server: Server, w: WriteFigures) => {
  const s = w.lastSession
  const session = s === undefined ? undefined : await readRun(server.pid, `${server.base}/api/session/${s.id}?userAddress=${s.user}`, 16, 1, READ_SECONDS)
  const content = await readRun(server.pid, `${server.base}/api/content`, 16, 1, READ_SECONDS)
  return { session, content }
}

const uptime = (): string => {
  try {
    return execFileSync("uptime", { encoding: "utf8" }).trim()
  } catch {
    return "?"
  }
}

/** The write path under the server's CPU profiler; the summary's heaviest rows are said. */
const profiledWrite = async <A>(deps: SlowChainDeps, server: Server, phase: () => Promise<A>): Promise<A> => {
  const results: Array<A> = []
  const file = await profileDuring(server, join(deps.tmp, "app-slow-write.cpuprofile"), () => phase().then((a) => results.push(a)))
  const p = summarise("app, slow chain write path", file)
  deps.say(`profile ${file}: ${round(p.busyMs, 0)} ms busy in ${round(p.wallMs, 0)} ms`)
  for (const row of p.inclusive.slice(0, 12)) deps.say(`  inclusive ${JSON.stringify(row)}`)
  for (const row of p.top.slice(0, 15)) deps.say(`  self ${JSON.stringify(row)}`)
  const [result] = results
  if (result === undefined) throw new Error("the profiled write path gave no result")
  return result
}

/** Runs both profiles and writes the section (bench/slow-chain.md, spliced into bench/RESULTS.md). */
export const slowChainBench = async (deps: SlowChainDeps): Promise<void> => {
  const { say } = deps
  const loadBefore = uptime()
  say(`slow-chain profile: ${BLOCK_MS} ms blocks, CONFIRMATIONS=${CONFIRMATIONS}, +${LATENCY_MS} ms per RPC request, ${USERS} users for ${WRITE_SECONDS} s; ${loadBefore}`)
  const common = { SESSION_MAX_IDLE: "24 hours", RECONCILE_INTERVAL: "1 hour" }

  const instantDb = await deps.createDatabase("instant")
  const instant = await deps.startApp("app-instant", instantDb, common, { BENCH_REAL_CLOCK: "1" })
  say(`instant profile ready: ${instant.ready.viewers.length} viewers funded in ${round(instant.ready.fundMs / 1000, 1)} s`)
  const instantWrite = await writePath(instant.base, instant.ready.viewers, WRITE_SECONDS)
  const instantFigures: ProfileFigures = {
    name: "instant",
    viewers: instant.ready.viewers.length,
    fundMs: instant.ready.fundMs,
    write: instantWrite,
    blocks: undefined,
    reads: await readPath(instant, instantWrite)
  }
  await deps.stop(instant)
  say(`instant: ${instantWrite.lifecycles} lifecycles, start p50 ${instantWrite.start.p50} ms p99 ${instantWrite.start.p99} ms, stop p50 ${instantWrite.stop.p50} p99 ${instantWrite.stop.p99} ms`)

  const node = await startHardhatNode(join(deps.tmp, "hardhat-node-slow.log"))
  const scope = Effect.runSync(Scope.make())
  try {
    const proxy = await Effect.runPromise(Scope.extend(rpcProxy(node.url, { latencyMs: LATENCY_MS }), scope))
    const slowDb = await deps.createDatabase("slow")
    const slow = await deps.startApp("app-slow", slowDb, { ...common, CONFIRMATIONS: String(CONFIRMATIONS) }, {
      BENCH_REAL_CLOCK: "1",
      BENCH_RPC_URL: node.url,
      BENCH_SLOW_RPC_URL: proxy.url,
      BENCH_BLOCK_MS: String(BLOCK_MS)
    })
    say(`slow profile ready: ${slow.ready.viewers.length} viewers funded in ${round(slow.ready.fundMs / 1000, 1)} s (straight on the node, automining)`)
    // a few blocks first, so that the server has seen the chain's pace
    await pause(3 * BLOCK_MS)
    // BENCH_PROFILE=1: the server's CPU profile over the slow write path, its heaviest packages and functions printed
    const write = () => writePath(slow.base, slow.ready.viewers, WRITE_SECONDS)
    const slowWrite = process.env.BENCH_PROFILE === "1" ? await profiledWrite(deps, slow, write) : await write()
    const slowFigures: ProfileFigures = {
      name: "slow",
      viewers: slow.ready.viewers.length,
      fundMs: slow.ready.fundMs,
      write: slowWrite,
      blocks: await blockFigures(node.url, slowWrite.payments),
      reads: await readPath(slow, slowWrite)
    }
    await deps.stop(slow)
    const rpcCalls = [...Effect.runSync(proxy.calls)].sort((a, b) => b[1] - a[1])
    const section = renderSection([instantFigures, slowFigures], loadBefore, uptime(), rpcCalls)
    console.log(section)
    writeFileSync(join(deps.benchDir, "slow-chain.md"), section)
    spliceInto(join(deps.benchDir, "RESULTS.md"), section)
    say("wrote bench/slow-chain.md and its section of bench/RESULTS.md")
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    node.stop()
  }
}

const HEADING = "## Slow chain profile"

/** Replaces the section in `file` (or appends it): the rest of the file is the main bench's. */
const spliceInto = (file: string, section: string) => {
  const text = existsSync(file) ? readFileSync(file, "utf8") : ""
  const at = text.indexOf(HEADING)
  const before = at < 0 ? text.trimEnd() : text.slice(0, at).trimEnd()
  const rest = at < 0 ? "" : text.slice(at + HEADING.length)
  const next = rest.search(/\n## /)
  const after = next < 0 ? "" : rest.slice(next).trimStart()
  writeFileSync(file, `${before}\n\n${section.trim()}\n${after === "" ? "" : `\n${after}`}`)
}

const ms = (x: number) => `${round(x, 1)} ms`
const verdict = (met: boolean) => (met ? "met" : "**missed**")

const renderSection = (profiles: readonly [ProfileFigures, ProfileFigures], loadBefore: string, loadAfter: string, rpcCalls: ReadonlyArray<[string, number]>): string => {
  const [instant, slow] = profiles
  const w = slow.write
  const b = slow.blocks
  const targetConfirm = BLOCK_MS * (CONFIRMATIONS + 1)
  const row = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  const rpcTotal = rpcCalls.reduce((sum, [, n]) => sum + n, 0)
  const perLifecycle = (n: number) => String(round(n / Math.max(1, w.lifecycles), 2))
  const read = (r: ReadRun | undefined) => (r === undefined ? "-" : `${r.rps} req/s, p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}${r.non2xx + r.errors > 0 ? ` (${r.non2xx} non-2xx)` : ""}`)
  const lines = [
    HEADING,
    "",
    `\`npm run bench -- --chain=slow\`, ${new Date().toISOString()}: a \`hardhat node\` mining a block every ${BLOCK_MS / 1000} s, CONFIRMATIONS=${CONFIRMATIONS}, ${LATENCY_MS} ms added to every JSON-RPC request by a proxy in the bench's process; beside it, in the same run, the instant profile (the in-process chain). ${USERS} users, each its own funded viewer (${slow.viewers} on the slow chain, funded in ${round(slow.fundMs / 1000, 1)} s while the node still automined): start, ${WATCH_MS} ms of watching, stop, again, for ${WRITE_SECONDS} s; a stop answered 202 is followed on the session's event stream (GET /api/session/:id/events, as the watch page does) until its COMPLETED status event, the time to confirmed. Then the read path at 16 connections, ${READ_SECONDS} s per route.`,
    "",
    `Load: \`${loadBefore}\` at the start, \`${loadAfter}\` at the end.`,
    "",
    row(["measure", "instant chain", "slow chain", "target", "verdict"]),
    row(["---", "---", "---", "---", "---"]),
    row(["lifecycles (stops answered)", String(instant.write.lifecycles), String(w.lifecycles), "", ""]),
    row(["stop p50 / p99", `${ms(instant.write.stop.p50)} / ${ms(instant.write.stop.p99)}`, `${ms(w.stop.p50)} / ${ms(w.stop.p99)}`, "p99 < 100 ms at 64 users", verdict(w.stop.p99 < 100)]),
    row(["stop answers by status", JSON.stringify(instant.write.stopStatuses), JSON.stringify(w.stopStatuses), "202 settling, at once", ""]),
    row([
      "start p50 / p99",
      `${ms(instant.write.start.p50)} / ${ms(instant.write.start.p99)}`,
      `${ms(w.start.p50)} / ${ms(w.start.p99)}`,
      "within 2 ms of the instant chain's",
      verdict(Math.abs(w.start.p50 - instant.write.start.p50) <= 2 && Math.abs(w.start.p99 - instant.write.start.p99) <= 2)
    ]),
    row(["5xx answers (all requests, event streams included)", String(instant.write.serverErrors), String(w.serverErrors), "0", verdict(w.serverErrors === 0 && instant.write.serverErrors === 0)]),
    row(["other non-2xx answers or connection errors", String(instant.write.otherFailures), String(w.otherFailures), "", ""]),
    row([
      "stop to confirmed payment p50 / p99 (max)",
      `${ms(instant.write.toConfirmed.p50)} / ${ms(instant.write.toConfirmed.p99)}`,
      `${ms(w.toConfirmed.p50)} / ${ms(w.toConfirmed.p99)} (${ms(w.toConfirmed.max)}); ${w.unconfirmed} not confirmed ${TAIL_MS / 1000} s after the run`,
      `<= block time x (confirmations + 1) = ${targetConfirm / 1000} s`,
      verdict(w.toConfirmed.p99 <= targetConfirm && w.unconfirmed === 0)
    ]),
    ...(b === undefined
      ? []
      : [
          row(["blocks holding settlements", "-", String(b.blocks), "", ""]),
          row(["settlements per block mean / max", "-", `${b.settlementsPerBlock.mean} / ${b.settlementsPerBlock.max}`, "the block's stops, up to the batch cap", ""]),
          row(["transactions per block mean / max (from the blocks)", "-", `${b.txPerBlock.mean} / ${b.txPerBlock.max}`, "at most 1", verdict(b.txPerBlock.max <= 1)]),
          row(["settlements per transaction", "-", String(b.settlementsPerTx), "", ""]),
          row(["gas per settlement (the batch's gasUsed / its size)", "-", String(b.gasPerSettlement), "", ""])
        ]),
    row(["GET /api/session/:id, 16 connections", read(instant.reads.session), read(slow.reads.session), "", ""]),
    row(["GET /api/content, 16 connections", read(instant.reads.content), read(slow.reads.content), "", ""]),
    "",
    `JSON-RPC requests the slow profile's server sent through the proxy: ${rpcTotal} in all, ${perLifecycle(rpcTotal)} per lifecycle; by method (per lifecycle): ${rpcCalls.map(([m, n]) => `${m} ${n} (${perLifecycle(n)})`).join(", ")}.`,
    ""
  ]
  return lines.join("\n")
}
