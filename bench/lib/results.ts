import { Schema } from "effect"

/** The shape of bench/results.json (decoded again by bench/lib/report.ts to re-render the report). */

export const Latency = Schema.Struct({
  count: Schema.Number,
  p50: Schema.Number,
  p95: Schema.Number,
  p99: Schema.Number,
  max: Schema.Number,
  mean: Schema.Number
})

/** What every measured run records of the machine while it ran (bench/lib/load.ts `loadFigures`). */
const LoadFigures = {
  /** Server CPU time (all threads) during the run, ms. */
  cpuMs: Schema.Number,
  /** The server's main thread busy, % of one core. */
  mainThreadPct: Schema.Number,
  /** Share of all cores busy, whoever used them, %. */
  machineBusyPct: Schema.Number,
  /** CPU used by anything but the server, PostgreSQL and the load generator, in cores. */
  otherCores: Schema.Number,
  /** Highest RSS sampled, MB. */
  peakRssMb: Schema.Number
}

export const ReadRun = Schema.Struct({
  connections: Schema.Number,
  requests: Schema.Number,
  seconds: Schema.Number,
  rps: Schema.Number,
  latency: Latency,
  non2xx: Schema.Number,
  errors: Schema.Number,
  cpuUsPerRequest: Schema.Number,
  dbCpuUsPerRequest: Schema.Number,
  ...LoadFigures
})
export type ReadRun = typeof ReadRun.Type

const Counts = Schema.Record({ key: Schema.String, value: Schema.Number })

export const LifecycleRun = Schema.Struct({
  users: Schema.Number,
  /** Lifecycles whose stop answered inside the window with an on-chain payment. */
  lifecycles: Schema.Number,
  seconds: Schema.Number,
  perSecond: Schema.Number,
  /** Settlements confirmed on chain per second (= lifecycles/s when every stop settles). */
  settlementsPerSecond: Schema.Number,
  meanBatchSize: Schema.Number,
  steps: Schema.Struct({ start: Latency, pause: Latency, resume: Latency, stop: Latency }),
  lifecycle: Latency,
  /** Stops that did not end in a payment (status -> count), and failed steps ("pause 409" -> count). */
  unsettled: Counts,
  failures: Counts,
  cpuUsPerLifecycle: Schema.Number,
  dbCpuUsPerLifecycle: Schema.Number,
  ...LoadFigures
})
export type LifecycleRun = typeof LifecycleRun.Type

export const StepCost = Schema.Struct({
  step: Schema.Literal("start", "pause", "resume", "stop"),
  count: Schema.Number,
  /** Server CPU per request, all threads / main thread only, µs. */
  cpuUs: Schema.Number,
  mainCpuUs: Schema.Number,
  /** PostgreSQL CPU per request, µs. */
  dbCpuUs: Schema.Number,
  /** SQL statements the server sent per request (BEGIN and COMMIT included; the settler's included for stop). */
  sqlStatements: Schema.Number,
  p50Ms: Schema.Number
})
export type StepCost = typeof StepCost.Type

/** One extra app configuration measured on the session route, next to the bare baseline. */
export const Variant = Schema.Struct({ name: Schema.String, description: Schema.String, run: ReadRun })
export type Variant = typeof Variant.Type

export const ProfileSummary = Schema.Struct({
  label: Schema.String,
  file: Schema.String,
  wallMs: Schema.Number,
  busyMs: Schema.Number,
  idleMs: Schema.Number,
  top: Schema.Array(Schema.Struct({ name: Schema.String, where: Schema.String, package: Schema.String, selfMs: Schema.Number, share: Schema.Number })),
  packages: Schema.Array(Schema.Struct({ package: Schema.String, selfMs: Schema.Number, share: Schema.Number })),
  inclusive: Schema.Array(Schema.Struct({ package: Schema.String, selfMs: Schema.Number, share: Schema.Number }))
})
export type ProfileSummary = typeof ProfileSummary.Type

export const ServerInfo = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  bootMs: Schema.Number,
  fundMs: Schema.Number,
  /** VmHWM at the end: the highest RSS of the process's whole life (boot included), MB. */
  lifetimePeakRssMb: Schema.Number,
  /** The highest RSS sampled during its load phases, MB. */
  loadPeakRssMb: Schema.Number,
  /** RSS when it signalled ready (idle, after boot), MB. */
  readyRssMb: Schema.Number,
  /** process.memoryUsage() at the end of its load phases, MB (app servers only). */
  memory: Schema.NullOr(
    Schema.Struct({ rss: Schema.Number, heapTotal: Schema.Number, heapUsed: Schema.Number, external: Schema.Number, arrayBuffers: Schema.Number })
  )
})
export type ServerInfo = typeof ServerInfo.Type

export const ColdStart = Schema.Struct({ ms: Schema.Number, rssMb: Schema.Number, ok: Schema.Boolean })
export type ColdStart = typeof ColdStart.Type

export const ChainResult = Schema.Struct({
  single: Schema.Struct({ callsPerSecond: Schema.Number, cpuUsPerCall: Schema.Number, gas: Schema.Number }),
  batch: Schema.Struct({
    size: Schema.Number,
    callsPerSecond: Schema.Number,
    settlementsPerSecond: Schema.Number,
    cpuUsPerSettlement: Schema.Number,
    gasPerSettlement: Schema.Number
  })
})
export type ChainResult = typeof ChainResult.Type

export const Target = Schema.Struct({
  id: Schema.String,
  target: Schema.String,
  measured: Schema.String,
  met: Schema.Boolean
})
export type Target = typeof Target.Type

const ReadRoute = Schema.Struct({
  app: Schema.Array(ReadRun),
  bare: Schema.Array(ReadRun),
  express: Schema.Array(ReadRun)
})

export const Results = Schema.Struct({
  meta: Schema.Struct({
    date: Schema.String,
    node: Schema.String,
    cpu: Schema.String,
    cores: Schema.Number,
    memoryGb: Schema.Number,
    postgres: Schema.String,
    database: Schema.String,
    warmupSeconds: Schema.Number,
    seconds: Schema.Number,
    connections: Schema.Array(Schema.Number),
    users: Schema.Array(Schema.Number),
    viewers: Schema.Number,
    readSession: Schema.String,
    totalSeconds: Schema.Number,
    loadAverage: Schema.Struct({ before: Schema.Number, after: Schema.Number })
  }),
  coldStart: Schema.Array(ColdStart),
  chain: ChainResult,
  servers: Schema.Array(ServerInfo),
  read: Schema.Struct({ session: ReadRoute, content: ReadRoute }),
  write: Schema.Struct({ batched: Schema.Array(LifecycleRun), unbatched: Schema.Array(LifecycleRun), steps: Schema.Array(StepCost) }),
  variants: Schema.Array(Variant),
  profiles: Schema.Array(ProfileSummary),
  targets: Schema.Array(Target)
})
export type Results = typeof Results.Type
