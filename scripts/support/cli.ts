/**
 * What the operator scripts (deploy, catalogue:sync, viewer:fund) share: their settings read like the
 * server's (environment, then `.env`, through AppConfig), viem clients on RPC_URL, flags, and one line
 * on failure instead of a stack trace.
 */
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"
import { parseArgs } from "node:util"
import { type Hex, createPublicClient, createWalletClient, defineChain, http, isHex, webSocket } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { rpcUrlsOf } from "../../src/chain/ChainViem.js"
import { AppConfig } from "../../src/config.js"
import { isAddress, toAddress } from "../../src/domain/Address.js"
import { startupFailureLine } from "../../src/platform/StartupError.js"

/** A reason a script stops, said in one line. */
export class ScriptError extends Schema.TaggedError<ScriptError>()("ScriptError", { reason: Schema.String }) {
  override get message(): string {
    return this.reason
  }
}

export const fail = (reason: string) => Effect.fail(new ScriptError({ reason }))

/** The message of whatever a promise threw, first line only (viem's errors run to many lines). */
const firstLine = (e: unknown): string => (e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e))

export const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new ScriptError({ reason: `${what}: ${firstLine(e)}` }) })

/** `--name value` flags; an unknown flag or a missing value is refused. */
export const flags = <const N extends string>(names: ReadonlyArray<N>) =>
  Effect.try({
    try: () => {
      const options = Object.fromEntries(names.map((n) => [n, { type: "string" as const }]))
      const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false })
      const out: Partial<Record<N, string>> = {}
      for (const n of names) {
        const v = values[n]
        if (typeof v === "string") out[n] = v
      }
      return out
    },
    catch: (e) => new ScriptError({ reason: firstLine(e) })
  })

export const addressFlag = (name: string, value: string | undefined) =>
  value === undefined
    ? Effect.succeed(undefined)
    : isAddress(value)
      ? Effect.succeed(toAddress(value))
      : fail(`--${name} must be 0x followed by 40 hexadecimal digits`)

export const keyOf = (name: string, secret: string) =>
  isHex(secret) && /^0x[0-9a-fA-F]{64}$/.test(secret) ? Effect.succeed(secret) : fail(`${name} must be 0x followed by 64 hexadecimal digits`)

/** Clients on RPC_URL for `key`; the chain's id is checked against NETWORK_ID when that is set. */
export const clientsFor = (key: Hex) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const rpc = yield* Option.match(config.chain.rpcUrl, {
      onNone: () => fail("RPC_URL is not set: give the JSON-RPC endpoint of the chain (e.g. your Sepolia provider's URL)"),
      // a fallback list: the scripts use its first endpoint
      onSome: (u) => Effect.succeed(rpcUrlsOf(Redacted.value(u))[0] ?? "")
    })
    const transport = rpc.startsWith("ws") ? webSocket(rpc) : http(rpc, { retryCount: 1 })
    const chainId = yield* attempt("cannot reach RPC_URL", () => createPublicClient({ transport }).getChainId())
    if (Option.isSome(config.chain.networkId) && config.chain.networkId.value !== chainId) {
      return yield* fail(`NETWORK_ID is ${config.chain.networkId.value} but RPC_URL serves chain ${chainId}`)
    }
    const chain = defineChain({
      id: chainId,
      name: `chain-${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpc] } }
    })
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 })
    const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(key) })
    return { chainId, publicClient, walletClient }
  })

/** PRIVATE_KEY, required. */
export const privateKey = Effect.flatMap(AppConfig, (config) =>
  Option.match(config.chain.privateKey, {
    onNone: () => fail("PRIVATE_KEY is not set: give the key of the account that sends the transactions"),
    onSome: (k) => keyOf("PRIVATE_KEY", Redacted.value(k))
  })
)

/** A required address setting (MOCK_USDC_ADDRESS, YIELD_VAULT_ADDRESS, STREAMING_WALLET_ADDRESS). */
export const required = (name: string, value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => fail(`${name} is not set: use the value \`npm run deploy:sepolia\` printed`),
    onSome: (v) => Effect.succeed(toAddress(v))
  })

const ConfigLive = AppConfig.layer.pipe(Layer.provide(PlatformConfigProvider.layerDotEnvAdd(".env")), Layer.provide(NodeContext.layer))

/** Runs a script: settings as the server reads them, one line on failure, exit code 1. */
export const runScript = <A, E>(program: Effect.Effect<A, E, AppConfig>) =>
  program.pipe(
    Effect.provide(ConfigLive),
    Logger.withMinimumLogLevel(LogLevel.Warning),
    Effect.tapErrorCause((cause) => Console.error(startupFailureLine(cause).replace(/^payg: cannot start: /, "payg: "))),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )
