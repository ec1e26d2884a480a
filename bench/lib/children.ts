import { type ChildProcess, fork, spawn } from "node:child_process"
import { createWriteStream } from "node:fs"
import { get } from "node:http"
import { createServer } from "node:net"
import { Option } from "effect"
import { type ChildMessage, type Memory, type ParentMessage, type Ready, decodeChild } from "./protocol.js"
import { peakRssMb, processesInGroup, rssMb } from "./proc.js"

/** Starting, talking to and stopping the bench's child processes. */

/** The V8 old-space cap `npm start` gives the server (HEAP_MB's default), given to every compiled server here. */
const SERVER_HEAP_MB = 256

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly pid: number
  /** Resolves with the next message of the given type (rejects on "failed" or exit). */
  readonly next: <T extends ChildMessage["type"]>(type: T, timeoutMs: number) => Promise<Extract<ChildMessage, { type: T }>>
  readonly send: (message: ParentMessage) => void
  readonly exited: Promise<number | null>
}

const isType =
  <T extends ChildMessage["type"]>(type: T) =>
  (m: ChildMessage): m is Extract<ChildMessage, { type: T }> =>
    m.type === type

/** Forks `node --import tsx <script>` with an IPC channel, its output appended to `logFile`. */
export const forkChild = (name: string, script: string, env: Readonly<Record<string, string>>, logFile: string): Child => {
  const log = createWriteStream(logFile, { flags: "a" })
  const child = fork(script, [], {
    // compiled JavaScript runs as `npm start` runs dist/ (with its heap cap); TypeScript through tsx
    execArgv: script.endsWith(".js") ? [`--max-old-space-size=${SERVER_HEAP_MB}`] : ["--import", "tsx"],
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"]
  })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  const inbox: Array<ChildMessage> = []
  const waiters: Array<{ readonly accept: (m: ChildMessage) => boolean; readonly fail: (e: Error) => void }> = []
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  child.on("message", (raw: unknown) => {
    const decoded = decodeChild(raw)
    if (Option.isNone(decoded)) return
    const m = decoded.value
    if (m.type === "failed") {
      for (const w of waiters.splice(0)) w.fail(new Error(`${name} failed: ${m.reason}`))
      return
    }
    const i = waiters.findIndex((w) => w.accept(m))
    if (i >= 0) waiters.splice(i, 1)
    else inbox.push(m)
  })
  void exited.then((code) => {
    for (const w of waiters.splice(0)) w.fail(new Error(`${name} exited (code ${code}); see ${logFile}`))
  })
  const next = <T extends ChildMessage["type"]>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const matches = isType(type)
      const queued = inbox.findIndex(matches)
      const found = inbox[queued]
      if (found !== undefined && matches(found)) {
        inbox.splice(queued, 1)
        return resolve(found)
      }
      const timer = setTimeout(() => reject(new Error(`${name}: no "${type}" within ${timeoutMs} ms; see ${logFile}`)), timeoutMs)
      waiters.push({
        accept: (m) => {
          if (!matches(m)) return false
          clearTimeout(timer)
          resolve(m)
          return true
        },
        fail: (e) => {
          clearTimeout(timer)
          reject(e)
        }
      })
    })
  return {
    name,
    process: child,
    pid: child.pid ?? 0,
    next,
    send: (message) => {
      if (child.connected) child.send(message)
    },
    exited
  }
}

export interface Server extends Child {
  readonly ready: Ready
  readonly base: string
  /** RSS when it signalled ready, MB. */
  readonly readyRssMb: number
}

export const startServer = async (name: string, script: string, env: Readonly<Record<string, string>>, logFile: string): Promise<Server> => {
  const child = forkChild(name, script, env, logFile)
  const ready = await child.next("ready", 120_000)
  return { ...child, ready, base: `http://127.0.0.1:${ready.port}`, readyRssMb: rssMb(child.pid) }
}

/** The child's own view of its memory (V8 heap, external, the rest is native: code, EDR, buffers). */
export const memoryOf = async (child: Child): Promise<Omit<Memory, "type">> => {
  child.send({ type: "memory" })
  const { type: _type, ...m } = await child.next("memory", 10_000)
  return m
}

/** Asks the child to stop; kills it (by its pid) if it has not exited after `graceMs`. Returns its lifetime peak RSS. */
export const stopChild = async (child: Child, graceMs = 10_000): Promise<number> => {
  let peak = 0
  try {
    peak = peakRssMb(child.pid)
  } catch {
    // already gone
  }
  if (child.process.exitCode !== null) return peak
  child.send({ type: "stop" })
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs)
  await child.exited
  clearTimeout(timer)
  return peak
}

/** Profiles the child while `phase` runs; returns the .cpuprofile path. */
export const profileDuring = async (child: Child, path: string, phase: () => Promise<unknown>): Promise<string> => {
  child.send({ type: "profile-start" })
  await new Promise((r) => setTimeout(r, 100))
  await phase()
  child.send({ type: "profile-stop", path })
  const saved = await child.next("profile-saved", 60_000)
  return saved.path
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address()
      const port = address !== null && typeof address === "object" ? address.port : 0
      srv.close(() => resolve(port))
    })
  })

const healthy = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on("error", () => resolve(false))
    req.on("timeout", () => {
      req.destroy()
      resolve(false)
    })
  })

/**
 * `npm start` (its script: `node --import tsx src/main.ts`) on the embedded defaults (DATABASE_URL, RPC_URL and PGLITE_DATA_DIR unset: PGlite in
 * memory and the in-process chain), timed from spawn to the first 200 from /health. Runs in its own
 * process group, which is ended (by that group's id) afterwards.
 */
export const coldStart = async (
  cwd: string,
  logFile: string,
  options: { readonly profileDir?: string; readonly timeoutMs?: number } = {}
): Promise<{ readonly ms: number; readonly rssMb: number; readonly ok: boolean }> => {
  const timeoutMs = options.timeoutMs ?? 60_000
  const port = await freePort()
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !["DATABASE_URL", "RPC_URL", "PGLITE_DATA_DIR", "PORT", "HOST"].includes(k)) env[k] = v
  }
  env.PORT = String(port)
  const log = createWriteStream(logFile, { flags: "a" })
  const t0 = performance.now()
  // profiled: the same command `npm start` runs, without npm, under --cpu-prof (written when it exits on SIGTERM)
  const child =
    options.profileDir === undefined
      ? spawn("npm", ["start"], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
      : spawn(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, `--max-old-space-size=${SERVER_HEAP_MB}`, "dist/main.js"], {
          cwd,
          env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"]
        })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  const pgid = child.pid ?? 0
  let ms = 0
  let ok = false
  while (performance.now() - t0 < timeoutMs && child.exitCode === null) {
    if (await healthy(port)) {
      ms = performance.now() - t0
      ok = true
      break
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  let rss = 0
  for (const pid of processesInGroup(pgid)) {
    try {
      rss = Math.max(rss, rssMb(pid))
    } catch {
      // gone
    }
  }
  if (child.exitCode === null) {
    try {
      process.kill(-pgid, "SIGTERM")
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pgid, "SIGKILL")
      } catch {
        // already gone
      }
    }, 10_000)
    await exited
    clearTimeout(timer)
  }
  return { ms: Math.round(ms), rssMb: Math.round(rss), ok }
}

/** A `hardhat node` on a free port (its own process group), answering JSON-RPC; `stop` kills it. */
export const startHardhatNode = async (logFile: string): Promise<{ readonly url: string; readonly pid: number; readonly stop: () => void }> => {
  const port = await freePort()
  const log = createWriteStream(logFile, { flags: "a" })
  const child = spawn("node_modules/.bin/hardhat", ["node", "--hostname", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  const url = `http://127.0.0.1:${port}`
  const stop = () => {
    if (child.pid === undefined) return
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 60_000
  for (;;) {
    const answered = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    }).then(
      (r) => r.ok,
      () => false
    )
    if (answered) return { url, pid: child.pid ?? 0, stop }
    if (Date.now() > deadline) {
      stop()
      throw new Error(`hardhat node did not answer on ${url}; see ${logFile}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}
