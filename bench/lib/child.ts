import { Option } from "effect"
import pg from "pg"
import { writeFile } from "node:fs/promises"
import { Session } from "node:inspector/promises"
import { type ChildMessage, decodeParent } from "./protocol.js"

/**
 * The child side of the bench's IPC channel: replies to profile requests (a V8 CPU profile taken
 * through the inspector, the same data `--cpu-prof` writes, but only for the phase the bench chooses)
 * and exits cleanly on "stop".
 */

let sqlStatements = 0

/**
 * Counts every statement this process sends through `pg` (any pool, any client: they all end in
 * `Client.prototype.query`), so the bench can report statements per step as measured, not as counted
 * once by hand.
 */
export const countSqlStatements = (): void => {
  const proto: object = pg.Client.prototype
  const original: unknown = Reflect.get(proto, "query")
  if (typeof original !== "function") return
  Object.defineProperty(proto, "query", {
    configurable: true,
    writable: true,
    value: function (this: unknown, ...args: Array<unknown>): unknown {
      sqlStatements++
      return Reflect.apply(original, this, args)
    }
  })
}

export const send = (message: ChildMessage): void => {
  if (process.send) process.send(message)
}

let session: Session | undefined

/** Starts sampling this process's CPU (every 250 µs). */
export const startProfile = async (): Promise<void> => {
  session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 250 })
  await session.post("Profiler.start")
}

/** Stops sampling and writes the profile as a .cpuprofile file. */
export const stopProfile = async (path: string): Promise<void> => {
  if (!session) return
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  session = undefined
  await writeFile(path, JSON.stringify(profile))
}

/** Installs the handlers; `onStop` closes the server (and pools) before the process exits. */
export const serveIpc = (onStop: () => Promise<void>): void => {
  process.on("message", (raw: unknown) => {
    const decoded = decodeParent(raw)
    if (Option.isNone(decoded)) return
    const message = decoded.value
    void (async () => {
      switch (message.type) {
        case "profile-start":
          return startProfile()
        case "profile-stop":
          await stopProfile(message.path)
          return send({ type: "profile-saved", path: message.path })
        case "memory": {
          const m = process.memoryUsage()
          const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
          return send({
            type: "memory",
            rss: mb(m.rss),
            heapTotal: mb(m.heapTotal),
            heapUsed: mb(m.heapUsed),
            external: mb(m.external),
            arrayBuffers: mb(m.arrayBuffers),
            sqlStatements
          })
        }
        case "stop": {
          const timer = setTimeout(() => process.exit(0), 5_000)
          timer.unref()
          await onStop().catch(() => undefined)
          process.exit(0)
        }
      }
    })()
  })
  // the parent went away: do not outlive it
  process.on("disconnect", () => process.exit(0))
}
