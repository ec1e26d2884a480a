import { Duration, Effect, Schedule } from "effect"
import { spawn } from "node:child_process"
import { createPublicClient, http } from "viem"
import { freePort } from "./process.js"

/** The private key of the first account every `hardhat node` funds (Hardhat's published test key): the operator in tests. */
export const HARDHAT_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

/**
 * `hardhat node` on a free local port for the life of the scope; yields its URL once it answers.
 * `env` adds to the node's environment, e.g. hardhat.config.cts's HARDHAT_CHAIN_ID and HARDHAT_BLOCK_TIME.
 */
export const hardhatNodeWith = (env: Record<string, string>) => Effect.gen(function* () {
  const port = yield* freePort
  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn("node_modules/.bin/hardhat", ["node", "--hostname", "127.0.0.1", "--port", String(port)], {
        stdio: "ignore",
        detached: true,
        env: { ...process.env, ...env }
      })
    ),
    (child) =>
      Effect.sync(() => {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, "SIGKILL")
          } catch {
            // already gone
          }
        }
      })
  )
  const url = `http://127.0.0.1:${port}`
  const probe = createPublicClient({ transport: http(url, { retryCount: 0 }) })
  yield* Effect.tryPromise(() => probe.getChainId()).pipe(Effect.retry(Schedule.spaced(Duration.millis(250)).pipe(Schedule.upTo(Duration.seconds(60)))), Effect.orDie)
  return { url, pid: child.pid }
})

/** `hardhat node` as `npm run chain` starts it: chain id 31337, blocks mined on demand. */
export const hardhatNode = hardhatNodeWith({})
