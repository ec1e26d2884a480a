import autocannon from "autocannon"
import { Option, Schema } from "effect"
import { Agent } from "node:http"
import { call } from "./http.js"
import { cpuMicros, machineCpu, mainThreadCpuMicros, postgresCpu, postgresCpuBetween, sampleRss } from "./proc.js"
import type { LifecycleRun, ReadRun, StepCost } from "./results.js"
import { latencyOf, round } from "./stats.js"

/** Load generators on loopback: autocannon for the read path, a small driver of ours for lifecycles. */

export interface Measured<A> {
  readonly result: A
  /** Server CPU time (user + system, all threads) spent during the phase, ms. */
  readonly cpuMs: number
  /** CPU time of the server's main thread (its event loop), ms. */
  readonly mainCpuMs: number
  /** CPU time of the PostgreSQL server's processes, ms. */
  readonly dbCpuMs: number
  /** Share of the whole machine's CPU (all cores) that was busy, %, whoever used it. */
  readonly machineBusyPct: number
  /** CPU used by everything but the server, PostgreSQL and the load generator (this process), in cores. */
  readonly otherCores: number
  readonly wallMs: number
  /** Highest RSS sampled during the phase, MB. */
  readonly peakRssMb: number
}

/** Runs a phase while reading the server's CPU time (and PostgreSQL's, and the machine's) and sampling its RSS. */
export const measure = async <A>(pid: number, phase: () => Promise<A>): Promise<Measured<A>> => {
  const stopSampling = sampleRss(pid)
  const cpu0 = cpuMicros(pid)
  const main0 = mainThreadCpuMicros(pid)
  const db0 = postgresCpu()
  const m0 = machineCpu()
  const self0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await phase()
  const wallMs = performance.now() - t0
  const self = process.cpuUsage(self0)
  const m1 = machineCpu()
  const cpuMs = (cpuMicros(pid) - cpu0) / 1000
  const dbCpuMs = postgresCpuBetween(db0, postgresCpu()) / 1000
  const busyMs = (m1.busy - m0.busy) / 1000
  const loaderMs = (self.user + self.system) / 1000
  return {
    result,
    cpuMs,
    mainCpuMs: (mainThreadCpuMicros(pid) - main0) / 1000,
    dbCpuMs,
    machineBusyPct: round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total), 0),
    otherCores: round(Math.max(0, busyMs - cpuMs - dbCpuMs - loaderMs) / wallMs, 2),
    wallMs,
    peakRssMb: round(stopSampling(), 1)
  }
}

/** `ms` of CPU spread over `n` units (requests, lifecycles), µs each; 0 when there were none. */
const perUnitUs = (ms: number, n: number): number => (n > 0 ? round((ms * 1000) / n, 0) : 0)

/** The machine-level figures every run records (results.ts `LoadFigures`). */
const loadFigures = (m: Measured<unknown>) => ({
  cpuMs: round(m.cpuMs, 0),
  mainThreadPct: round((100 * m.mainCpuMs) / m.wallMs, 0),
  machineBusyPct: m.machineBusyPct,
  otherCores: m.otherCores,
  peakRssMb: m.peakRssMb
})

export interface CannonResult {
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly seconds: number
  readonly latencies: ReadonlyArray<number>
}

/** One autocannon run; latencies of 2xx responses recorded at full precision (autocannon's own histogram is in whole ms). */
export const cannon = (url: string, connections: number, seconds: number): Promise<CannonResult> =>
  new Promise((resolve, reject) => {
    const latencies: Array<number> = []
    const instance = autocannon({ url, connections, duration: seconds, timeout: 10 }, (error, result) => {
      if (error) return reject(error)
      resolve({
        ok: result["2xx"],
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        seconds: result.duration,
        latencies
      })
    })
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
  })

/** Warm-up (discarded), then the measured run. */
export const readRun = async (pid: number, url: string, connections: number, warmupS: number, seconds: number): Promise<ReadRun> => {
  if (warmupS > 0) await cannon(url, connections, warmupS)
  const m = await measure(pid, () => cannon(url, connections, seconds))
  const r = m.result
  return {
    connections,
    requests: r.ok,
    seconds: r.seconds,
    rps: round(r.ok / r.seconds, 0),
    latency: latencyOf(r.latencies),
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuUsPerRequest: perUnitUs(m.cpuMs, r.ok),
    dbCpuUsPerRequest: perUnitUs(m.dbCpuMs, r.ok),
    ...loadFigures(m)
  }
}

// ---- the lifecycle driver ----

const Started = Schema.parseJson(Schema.Struct({ data: Schema.Struct({ sessionId: Schema.String }) }))
const Stopped = Schema.parseJson(
  Schema.Struct({
    data: Schema.Struct({
      status: Schema.String,
      payment: Schema.NullOr(Schema.Struct({ batchSize: Schema.Number, txHash: Schema.String }))
    })
  })
)
const decodeStarted = Schema.decodeUnknownOption(Started)
const decodeStopped = Schema.decodeUnknownOption(Stopped)

export const STEPS = ["start", "pause", "resume", "stop"] as const
export type Step = (typeof STEPS)[number]

interface Tally {
  lifecycles: number
  batchSum: number
  readonly steps: Record<Step, Array<number>>
  readonly lifecycle: Array<number>
  readonly unsettled: Record<string, number>
  readonly failures: Record<string, number>
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const bump = (r: Record<string, number>, key: string) => {
  r[key] = (r[key] ?? 0) + 1
}

/**
 * `users` concurrent virtual users, each over its own viewers (distinct funded addresses), running
 * start -> pause -> resume -> stop back to back until `seconds` have passed. Only what completes inside
 * the window is counted; lifecycles still in flight at the end are finished, not counted.
 */
export const drive = async (base: string, viewers: ReadonlyArray<string>, users: number, seconds: number, contentId: string): Promise<Tally & { readonly seconds: number }> => {
  const url = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: users })
  const tally: Tally = {
    lifecycles: 0,
    batchSum: 0,
    steps: { start: [], pause: [], resume: [], stop: [] },
    lifecycle: [],
    unsettled: {},
    failures: {}
  }
  const t0 = performance.now()
  const deadline = t0 + seconds * 1000
  const inside = () => performance.now() <= deadline

  const worker = async (mine: ReadonlyArray<string>) => {
    let n = 0
    while (performance.now() < deadline) {
      const userAddress = mine[n++ % mine.length]
      if (userAddress === undefined) return
      const began = performance.now()
      const started = await call(agent, url, "POST", "/api/session/start", { userAddress, contentId })
      const sessionId = Option.getOrUndefined(decodeStarted(started.body))?.data.sessionId
      if (started.status !== 201 || sessionId === undefined) {
        bump(tally.failures, `start ${started.status}`)
        // do not spin on a refusal (e.g. a 409 from a session left open)
        await pause(10)
        continue
      }
      if (inside()) tally.steps.start.push(started.ms)
      const ref = { sessionId, userAddress }
      let ok = true
      for (const step of ["pause", "resume"] as const) {
        const r = await call(agent, url, "POST", `/api/session/${step}`, ref)
        if (r.status !== 200) {
          bump(tally.failures, `${step} ${r.status}`)
          ok = false
          break
        }
        if (inside()) tally.steps[step].push(r.ms)
      }
      const stopped = await call(agent, url, "POST", "/api/session/stop", ref)
      if (stopped.status !== 200) {
        bump(tally.failures, `stop ${stopped.status}`)
        await pause(10)
        continue
      }
      if (!inside()) continue
      tally.steps.stop.push(stopped.ms)
      const view = Option.getOrUndefined(decodeStopped(stopped.body))?.data
      if (ok && view?.status === "completed" && view.payment !== null) {
        tally.lifecycles++
        tally.batchSum += view.payment.batchSize
        tally.lifecycle.push(performance.now() - began)
      } else {
        bump(tally.unsettled, view?.status ?? "unreadable")
      }
    }
  }

  await Promise.all(Array.from({ length: users }, (_, i) => worker(viewers.filter((_, j) => j % users === i))))
  agent.destroy()
  return { ...tally, seconds }
}

export const lifecycleRun = async (
  pid: number,
  base: string,
  viewers: ReadonlyArray<string>,
  users: number,
  warmupS: number,
  seconds: number,
  contentId: string
): Promise<LifecycleRun> => {
  if (warmupS > 0) await drive(base, viewers, users, warmupS, contentId)
  const m = await measure(pid, () => drive(base, viewers, users, seconds, contentId))
  const t = m.result
  return {
    users,
    lifecycles: t.lifecycles,
    seconds: t.seconds,
    perSecond: round(t.lifecycles / t.seconds, 1),
    settlementsPerSecond: round(t.lifecycles / t.seconds, 1),
    meanBatchSize: t.lifecycles > 0 ? round(t.batchSum / t.lifecycles, 1) : 0,
    steps: {
      start: latencyOf(t.steps.start),
      pause: latencyOf(t.steps.pause),
      resume: latencyOf(t.steps.resume),
      stop: latencyOf(t.steps.stop)
    },
    lifecycle: latencyOf(t.lifecycle),
    unsettled: t.unsettled,
    failures: t.failures,
    cpuUsPerLifecycle: perUnitUs(m.cpuMs, t.lifecycles),
    dbCpuUsPerLifecycle: perUnitUs(m.dbCpuMs, t.lifecycles),
    ...loadFigures(m)
  }
}

/** One POST through a fresh connection, for set-up (the read path's sessions). */
export const post = async (base: string, path: string, payload: unknown): Promise<{ readonly status: number; readonly body: string }> => {
  const agent = new Agent({ keepAlive: false })
  try {
    return await call(agent, new URL(base), "POST", path, payload)
  } finally {
    agent.destroy()
  }
}

export const sessionIdOf = (body: string): string | undefined => Option.getOrUndefined(decodeStarted(body))?.data.sessionId

/**
 * What each step costs on its own: one user, one keep-alive connection, no concurrency. Every viewer
 * starts a session, then every one pauses, then resumes, then stops, each group measured apart.
 */
export const stepCosts = async (
  pid: number,
  base: string,
  viewers: ReadonlyArray<string>,
  contentId: string,
  statementsSoFar: () => Promise<number>
): Promise<ReadonlyArray<StepCost>> => {
  const url = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const ids = new Map<string, string>()
  const out: Array<StepCost> = []
  for (const step of STEPS) {
    const latencies: Array<number> = []
    const statementsBefore = await statementsSoFar()
    const m = await measure(pid, async () => {
      for (const userAddress of viewers) {
        if (step === "start") {
          const r = await call(agent, url, "POST", "/api/session/start", { userAddress, contentId })
          const id = sessionIdOf(r.body)
          if (r.status === 201 && id !== undefined) {
            ids.set(userAddress, id)
            latencies.push(r.ms)
          }
          continue
        }
        const sessionId = ids.get(userAddress)
        if (sessionId === undefined) continue
        const r = await call(agent, url, "POST", `/api/session/${step}`, { sessionId, userAddress })
        if (r.status === 200) latencies.push(r.ms)
      }
    })
    const n = Math.max(1, latencies.length)
    // the settler finishes a stop's batch after the answer: let it, so its statements count for stop
    if (step === "stop") await new Promise((r) => setTimeout(r, 500))
    const statements = (await statementsSoFar()) - statementsBefore
    out.push({
      step,
      count: latencies.length,
      cpuUs: round((m.cpuMs * 1000) / n, 0),
      mainCpuUs: round((m.mainCpuMs * 1000) / n, 0),
      dbCpuUs: round((m.dbCpuMs * 1000) / n, 0),
      sqlStatements: round(statements / n, 1),
      p50Ms: latencyOf(latencies).p50
    })
  }
  agent.destroy()
  return out
}
