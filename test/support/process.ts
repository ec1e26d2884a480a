import { Duration, Effect, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

export const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Polls `url` until it answers 2xx (or the time is up). */
export const waitUntilUp = (url: string, within: Duration.DurationInput = "60 seconds") =>
  Effect.tryPromise(async () => {
    const res = await fetch(url)
    if (!res.ok) throw new Error(`${res.status}`)
  }).pipe(Effect.retry(Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo(within))), Effect.orDie)

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  readonly output: () => string
}

/**
 * The real server (`node --import tsx src/main.ts`) as a child process with exactly `env` (plus PATH),
 * ready once /health answers. Killed with SIGKILL when the scope closes, if still alive.
 */
export const serverProcess = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const port = yield* freePort
    let output = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const c = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
          env: { PATH: process.env.PATH ?? "", ...env, PORT: String(port), HOST: "127.0.0.1" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        c.stdout.on("data", (d: Buffer) => (output += d.toString()))
        c.stderr.on("data", (d: Buffer) => (output += d.toString()))
        return c
      }),
      (c) => Effect.sync(() => (c.exitCode === null ? c.kill("SIGKILL") : true))
    )
    const url = `http://127.0.0.1:${port}`
    yield* waitUntilUp(`${url}/health`)
    return { child, url, output: () => output } satisfies ServerProcess
  })

/** Kills with SIGKILL (no clean-up can run) and waits for the exit. */
export const killHard = (p: ServerProcess) =>
  Effect.async<boolean>((resume) => {
    if (p.child.exitCode !== null) return resume(Effect.succeed(false))
    p.child.once("exit", () => resume(Effect.succeed(true)))
    p.child.kill("SIGKILL")
  })
