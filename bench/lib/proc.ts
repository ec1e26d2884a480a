import { execFileSync } from "node:child_process"
import { readFileSync, readdirSync } from "node:fs"

/**
 * A server process's own accounting, read from /proc (Linux): CPU time (utime + stime) and resident
 * memory. Nothing runs inside the server to measure it.
 */

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Fields after the `(comm)` of /proc/<pid>/stat, which may itself hold spaces. */
const statFields = (pid: number): ReadonlyArray<string> => {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8")
  return text.slice(text.lastIndexOf(")") + 2).split(" ")
}

/** User + system CPU time of the process in microseconds (resolution: one clock tick, 10 ms). */
export const cpuMicros = (pid: number): number => {
  const f = statFields(pid)
  // fields 14 and 15 of stat; after "(comm) " the state is field 3, so index = field - 3
  const utime = Number(f[11] ?? 0)
  const stime = Number(f[12] ?? 0)
  return ((utime + stime) * 1e6) / ticksPerSecond
}

export const processGroupOf = (pid: number): number => Number(statFields(pid)[2] ?? 0)

const statusKb = (pid: number, key: string): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key}:`))
  return line ? Number(line.replace(/[^0-9]/g, "")) : 0
}

/** Resident set size now, in MB. */
export const rssMb = (pid: number): number => statusKb(pid, "VmRSS") / 1024
/** The highest resident set size of the process's life so far (VmHWM), in MB. */
export const peakRssMb = (pid: number): number => statusKb(pid, "VmHWM") / 1024

/** Every live process in a process group (the `npm start` tree). */
export const processesInGroup = (pgid: number): ReadonlyArray<number> =>
  readdirSync("/proc")
    .filter((d) => /^[0-9]+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return processGroupOf(pid) === pgid
      } catch {
        return false
      }
    })

/** Samples the RSS of a process every `everyMs` until stopped; returns the highest sample in MB. */
export const sampleRss = (pid: number, everyMs = 100): (() => number) => {
  let peak = 0
  const take = () => {
    try {
      peak = Math.max(peak, rssMb(pid))
    } catch {
      // the process ended
    }
  }
  take()
  const timer = setInterval(take, everyMs)
  return () => {
    clearInterval(timer)
    take()
    return peak
  }
}

/** CPU time of the process's main thread (the event loop), µs. */
export const mainThreadCpuMicros = (pid: number): number => {
  const text = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return ((Number(f[11] ?? 0) + Number(f[12] ?? 0)) * 1e6) / ticksPerSecond
}

/** Whole-machine CPU counters (all cores), in µs of CPU: busy and total. */
export const machineCpu = (): { readonly busy: number; readonly total: number } => {
  const t = machineTicks()
  return { busy: (t.busy * 1e6) / ticksPerSecond, total: (t.total * 1e6) / ticksPerSecond }
}

/** Whole-machine CPU counters (all cores), in ticks: busy and total. */
export const machineTicks = (): { readonly busy: number; readonly total: number } => {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const total = fields.reduce((a, b) => a + b, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { busy: total - idle, total }
}

/** CPU time of every PostgreSQL server process on this machine, by pid, µs. */
export const postgresCpu = (): ReadonlyMap<number, number> => {
  const out = new Map<number, number>()
  for (const d of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(d)) continue
    try {
      const text = readFileSync(`/proc/${d}/stat`, "utf8")
      const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"))
      if (comm !== "postgres") continue
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ")
      out.set(Number(d), ((Number(f[11] ?? 0) + Number(f[12] ?? 0)) * 1e6) / ticksPerSecond)
    } catch {
      // gone
    }
  }
  return out
}

/** CPU the PostgreSQL processes spent between two snapshots (processes that started in between count whole). */
export const postgresCpuBetween = (before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number => {
  let us = 0
  for (const [pid, cpu] of after) us += cpu - (before.get(pid) ?? 0)
  return us
}
