import { Schema } from "effect"
import { readFileSync } from "node:fs"
import { relative } from "node:path"
import { fileURLToPath } from "node:url"
import { round } from "./stats.js"

/**
 * Summarises a V8 `.cpuprofile` (the format `node --cpu-prof` and the inspector's Profiler.stop
 * write) into functions by self time and self time by package. Self time of a node = the sum of the
 * time deltas of the samples that landed in it.
 */

const CallFrame = Schema.Struct({
  functionName: Schema.String,
  url: Schema.String,
  lineNumber: Schema.Number,
  columnNumber: Schema.Number
})
const ProfileNode = Schema.Struct({ id: Schema.Number, callFrame: CallFrame, children: Schema.optional(Schema.Array(Schema.Number)) })
export const CpuProfile = Schema.Struct({
  nodes: Schema.Array(ProfileNode),
  startTime: Schema.Number,
  endTime: Schema.Number,
  samples: Schema.Array(Schema.Number),
  timeDeltas: Schema.Array(Schema.Number)
})
export type CpuProfile = typeof CpuProfile.Type

export interface FunctionRow {
  readonly name: string
  readonly where: string
  readonly package: string
  readonly selfMs: number
  /** Share of the profile's busy (non-idle) time, %. */
  readonly share: number
}

export interface PackageRow {
  readonly package: string
  readonly selfMs: number
  readonly share: number
}

export interface ProfileSummary {
  readonly label: string
  readonly file: string
  readonly wallMs: number
  readonly busyMs: number
  readonly idleMs: number
  readonly top: ReadonlyArray<FunctionRow>
  readonly packages: ReadonlyArray<PackageRow>
  /** Time with a frame of the package (or of one of our source files) anywhere on the stack. */
  readonly inclusive: ReadonlyArray<PackageRow>
}

const root = process.cwd()

/** The bench runs the servers compiled into this directory: their frames are named by the source tree's paths. */
const BUILD_PREFIX = "bench/.tmp/build/"

/** A readable location: a path relative to the project, or the runtime's own label. */
const locate = (url: string): string => {
  const path = locateRaw(url)
  // (the line numbers are the compiled .js file's)
  return path.startsWith(BUILD_PREFIX) ? path.slice(BUILD_PREFIX.length) : path
}

const locateRaw = (url: string): string => {
  if (url === "") return ""
  if (url.startsWith("file://")) {
    try {
      return relative(root, fileURLToPath(url))
    } catch {
      return url
    }
  }
  return url.startsWith("/") ? relative(root, url) : url
}

/** node_modules/<pkg> (scoped too), our src/ and bench/, node: internals, or V8's pseudo-frames. */
export const packageOf = (name: string, where: string): string => {
  if (where === "") {
    if (name === "(garbage collector)") return "(gc)"
    if (name === "(idle)" || name === "(program)" || name === "(root)") return name
    return "(native/V8)"
  }
  const nm = where.lastIndexOf("node_modules/")
  if (nm >= 0) {
    const parts = where.slice(nm + "node_modules/".length).split("/")
    const first = parts[0] ?? ""
    return first.startsWith("@") ? `${first}/${parts[1] ?? ""}` : first
  }
  if (where.startsWith("node:")) return "node (runtime)"
  if (where.startsWith("src/")) return `our code (${where.split("/").slice(0, 2).join("/")})`
  if (where.startsWith("bench/")) return "bench"
  return where
}

export const summarise = (label: string, file: string, topN = 25): ProfileSummary => {
  const profile = Schema.decodeUnknownSync(Schema.parseJson(CpuProfile))(readFileSync(file, "utf8"))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const info = (id: number) => {
    const f = nodes.get(id)?.callFrame
    const name = f === undefined || f.functionName === "" ? "(anonymous)" : f.functionName
    const file = locate(f?.url ?? "")
    return { name, file, line: (f?.lineNumber ?? 0) + 1, pkg: packageOf(name, file) }
  }
  /** A native frame (no script) is charged to the package that called it: `writev` from a socket, EDR's napi call from hardhat. */
  const packageOfNode = (id: number): string => {
    const i = info(id)
    if (i.pkg !== "(native/V8)") return i.pkg
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const p = info(cur)
      if (p.file !== "") return `${p.pkg === "node (runtime)" ? "node (runtime: sockets, streams)" : p.pkg} — native`
    }
    return i.pkg
  }
  /** The packages (and our files) on a node's stack; samples taken inside the profiler's own session are marked. */
  const stacks = new Map<number, { readonly groups: ReadonlySet<string>; readonly profiler: boolean }>()
  const stackOf = (id: number): { readonly groups: ReadonlySet<string>; readonly profiler: boolean } => {
    const known = stacks.get(id)
    if (known) return known
    const groups = new Set<string>()
    let profiler = false
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const i = info(cur)
      if (i.file === "node:inspector") profiler = true
      if (i.file.startsWith("src/")) groups.add(i.file)
      else if (i.file !== "") groups.add(i.pkg)
    }
    const result = { groups, profiler }
    stacks.set(id, result)
    return result
  }
  const byFunction = new Map<string, { name: string; where: string; pkg: string; us: number }>()
  const byPackage = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let idleUs = 0
  let profilerUs = 0
  let totalUs = 0
  for (const [id, us] of selfUs) {
    totalUs += us
    const i = info(id)
    if (i.name === "(idle)") {
      idleUs += us
      continue
    }
    const stack = stackOf(id)
    if (stack.profiler) {
      profilerUs += us
      continue
    }
    for (const g of stack.groups) inclusive.set(g, (inclusive.get(g) ?? 0) + us)
    const pkg = packageOfNode(id)
    const where = i.file === "" ? (pkg === i.pkg ? "" : `(${pkg})`) : `${i.file}:${i.line}`
    const key = `${i.name}@${where}`
    const row = byFunction.get(key) ?? { name: i.name, where, pkg, us: 0 }
    row.us += us
    byFunction.set(key, row)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us)
  }
  const busyUs = totalUs - idleUs - profilerUs
  const share = (us: number) => (busyUs > 0 ? round((100 * us) / busyUs, 1) : 0)
  const rows = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([pkg, us]) => ({ package: pkg, selfMs: round(us / 1000, 1), share: share(us) }))
  return {
    label,
    file: locate(file),
    wallMs: round((profile.endTime - profile.startTime) / 1000, 0),
    busyMs: round(busyUs / 1000, 0),
    idleMs: round(idleUs / 1000, 0),
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((r) => ({ name: r.name, where: r.where, package: r.pkg, selfMs: round(r.us / 1000, 1), share: share(r.us) })),
    packages: rows(byPackage),
    inclusive: rows(inclusive).slice(0, 30)
  }
}

// `node --import tsx bench/lib/cpuprofile.ts some.cpuprofile` prints a summary
if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    const s = summarise(file, file)
    console.log(`${file}: ${s.busyMs} ms busy of ${s.wallMs} ms`)
    for (const p of s.packages.slice(0, 15)) console.log(`  ${p.share.toFixed(1).padStart(5)}%  ${p.package}`)
    console.log("  inclusive:")
    for (const p of s.inclusive) console.log(`  ${p.share.toFixed(1).padStart(5)}%  ${p.package}`)
    for (const f of s.top) console.log(`  ${f.share.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`)
  }
}
