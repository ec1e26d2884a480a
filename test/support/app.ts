import { HttpApiClient, HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { ConfigProvider, Context, Effect, Layer, LogLevel, Logger, Option } from "effect"
import { PaygApi } from "../../src/Api.js"
import { makeAppLive } from "../../src/AppLive.js"
import { ChainOnDevChain, DevChainDeployment } from "../../src/chain/ChainInProcess.js"
import { AppConfig } from "../../src/config.js"
import type { Chain } from "../../src/domain/Chain.js"
import { HttpAppLive, nodeServerOn } from "../../src/http/Server.js"
import { TracingLive } from "../../src/platform/Tracing.js"
import { TimeTravelLive } from "./clock.js"
import { freshDatabaseUrl } from "./database.js"

/**
 * The console logger of a test prints only at or above `level`. It replaces the default logger with a
 * filtered copy instead of raising the minimum log level, so a capturing logger (captureLogs) still
 * receives every line, whichever of the two is installed first.
 */
const printedFrom = (level: LogLevel.LogLevel) =>
  Logger.replace(Logger.defaultLogger, Logger.filterLogLevel(Logger.defaultLogger, LogLevel.greaterThanEqual(level)))

/**
 * Configuration for a test: the given variables only, never the process environment. Its LOG_LEVEL
 * decides what the test prints; without one a test prints nothing, unless TEST_LOG_LEVEL (e.g.
 * `TEST_LOG_LEVEL=info npx vitest run ...`) asks for more.
 */
export const configFrom = (vars: Record<string, string>) =>
  Layer.flatMap(
    AppConfig.layer.pipe(
      Layer.provide(
        Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ LOG_LEVEL: process.env["TEST_LOG_LEVEL"] ?? "none", ...vars }))))
      )
    ),
    (context) => Layer.merge(Layer.succeedContext(context), printedFrom(Context.get(context, AppConfig).logLevel))
  )

/** A fresh database (PostgreSQL when TEST_DATABASE_URL is set, else PGlite) for the config. */
export const testConfig = (vars: Record<string, string> = {}) =>
  Layer.unwrapScoped(
    Effect.map(freshDatabaseUrl, (url) =>
      configFrom({
        NODE_ENV: "test",
        RATE_LIMIT_MAX_REQUESTS: "0",
        ...Option.match(url, { onNone: () => ({}), onSome: (u) => ({ DATABASE_URL: u }) }),
        ...vars
      })
    )
  )

/**
 * The real API served on a random local port over the real database and a fresh in-process chain
 * (contracts deployed, demo catalogue listed, demo viewers funded), with `chain` as the app's Chain
 * port. Provides an HttpClient aimed at it, the DevChain handle, TimeTravel (the app's Clock,
 * shiftable) and everything the app provides. `requireAuthorization` deploys a wallet that settles only
 * viewer-signed sessions (the production rule; the development chain's does not).
 */
export const TestAppWith = <E, R>(
  chain: Layer.Layer<Chain, E, R>,
  vars: Record<string, string> = {},
  deployment: { readonly requireAuthorization?: boolean } = {}
) => {
  const app = makeAppLive(chain).pipe(Layer.provideMerge(DevChainDeployment({ demo: true, ...deployment })))
  return HttpAppLive.pipe(
    Layer.provideMerge(TestServer),
    Layer.provideMerge(app),
    // as in main.ts: spans are exported when the test's config names an OTLP endpoint
    Layer.provideMerge(TracingLive),
    Layer.provideMerge(testConfig(vars)),
    Layer.provideMerge(TimeTravelLive)
  )
}

/** TestAppWith the in-process chain as it is. */
export const TestApp = (vars: Record<string, string> = {}, deployment: { readonly requireAuthorization?: boolean } = {}) =>
  TestAppWith(ChainOnDevChain, vars, deployment)

/**
 * The test's HTTP server: a real Node server on a random port, built like production's (the same
 * client-error handler), with an HttpClient aimed at it.
 */
export const TestServer = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
  Layer.provideMerge(nodeServerOn({ port: 0, host: "127.0.0.1" }))
)

/** The typed client of the whole API, over the test server. */
export const apiClient = HttpApiClient.make(PaygApi)

export const rawClient = HttpClient.HttpClient
