import { Config, ConfigError, Context, Duration, Effect, Either, Layer, LogLevel, Option, Redacted } from "effect"

/**
 * Every setting the server reads, through Effect Config (environment, then `.env`).
 * Secrets stay `Redacted`: printing one shows `<redacted>`.
 */

/** Like Config.validate, but the failure keeps the variable's name in its path. */
const check =
  <A>(name: string, message: string, validation: (a: A) => boolean) =>
  (self: Config.Config<A>): Config.Config<A> =>
    Config.mapOrFail(self, (a) => (validation(a) ? Either.right(a) : Either.left(ConfigError.InvalidData([name], message))))

const databaseUrl = Config.redacted("DATABASE_URL").pipe(
  check("DATABASE_URL", "must be a postgres:// or postgresql:// URL", (url) => {
      try {
        const parsed = new URL(Redacted.value(url))
        return (parsed.protocol === "postgres:" || parsed.protocol === "postgresql:") && parsed.hostname.length > 0
      } catch {
        return false
      }
  })
)

/** RPC_URL: one endpoint, or several separated by commas (a fallback list, tried in order). */
const rpcUrl = Config.redacted("RPC_URL").pipe(
  check("RPC_URL", "must be an http(s):// or ws(s):// URL, or several separated by commas", (value) => {
    const urls = Redacted.value(value).split(",").map((u) => u.trim())
    return urls.every((u) => {
      try {
        return ["http:", "https:", "ws:", "wss:"].includes(new URL(u).protocol)
      } catch {
        return false
      }
    })
  })
)

const hexAddress = (name: string) =>
  Config.string(name).pipe(
    check(name, "must be 0x followed by 40 hexadecimal digits", (s) => /^0x[0-9a-fA-F]{40}$/.test(s)),
    Config.map((s) => s.toLowerCase()),
    Config.option
  )

const privateKey = Config.redacted("PRIVATE_KEY").pipe(
  check("PRIVATE_KEY", "must be 0x followed by 64 hexadecimal digits", (k) => /^0x[0-9a-fA-F]{64}$/.test(Redacted.value(k))),
  Config.option
)

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    check(name, "must be a positive integer", (n) => n > 0),
    Config.withDefault(fallback)
  )

/** An amount of wei per gas, in decimal digits. */
const weiOption = (name: string) =>
  Config.string(name).pipe(
    check(name, "must be a whole number of wei", (v) => /^[0-9]{1,30}$/.test(v.trim())),
    Config.map((v) => BigInt(v.trim())),
    Config.option
  )

const port = Config.integer("PORT").pipe(
  check("PORT", "must be an integer from 0 to 65535", (n) => n >= 0 && n <= 65535),
  Config.withDefault(3001)
)

const nodeEnv = Config.literal("development", "production", "test")("NODE_ENV").pipe(Config.withDefault("development" as const))

const logLevels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
  off: LogLevel.None,
  silent: LogLevel.None
}

const logLevel = Config.string("LOG_LEVEL").pipe(
  Config.mapOrFail((s) => {
    const level = logLevels[s.trim().toLowerCase()]
    return level
      ? Either.right(level)
      : Either.left(ConfigError.InvalidData(["LOG_LEVEL"], `must be one of ${Object.keys(logLevels).join(", ")}`))
  })
)

const list = (name: string, fallback: string) =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.map((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0))
  )

/** TRUST_PROXY: "false"/"0" (default) trusts no proxy, "true" one, N the last N hops of X-Forwarded-For. */
const trustProxy = Config.string("TRUST_PROXY").pipe(
  Config.withDefault("false"),
  Config.mapOrFail((s) => {
    const v = s.trim().toLowerCase()
    if (v === "false") return Either.right(0)
    if (v === "true") return Either.right(1)
    return /^[0-9]{1,2}$/.test(v)
      ? Either.right(Number(v))
      : Either.left(ConfigError.InvalidData(["TRUST_PROXY"], "must be true, false or the number of trusted proxy hops"))
  })
)

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT: the OTLP/HTTP base URL (spans go to <endpoint>/v1/traces). Unset or
 * blank (the OpenTelemetry convention) means no tracing at all.
 */
const otlpEndpoint = Config.string("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(
  Config.withDefault(""),
  Config.map((s) => s.trim()),
  check("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http(s):// URL", (s) => {
    if (s === "") return true
    try {
      return ["http:", "https:"].includes(new URL(s).protocol)
    } catch {
      return false
    }
  }),
  Config.map((s) => (s === "" ? Option.none<string>() : Option.some(s)))
)

/** WEBHOOK_URL: where settlement events are POSTed (http or https); unset, no events are made. */
const webhookUrl = Config.string("WEBHOOK_URL").pipe(
  check("WEBHOOK_URL", "must be an http(s):// URL", (s) => {
    try {
      return ["http:", "https:"].includes(new URL(s).protocol)
    } catch {
      return false
    }
  }),
  Config.option
)

/** Settlement webhooks (src/webhooks): the receiver, its signing secret, and the delivery's pace. */
const webhooks = Config.all({
  url: webhookUrl,
  secret: Config.redacted("WEBHOOK_SECRET").pipe(
    check("WEBHOOK_SECRET", "must be at least 16 characters", (s) => Redacted.value(s).length >= 16),
    Config.option
  ),
  /** Time between two passes of the dispatcher (find new events, deliver the due ones). */
  interval: Config.duration("WEBHOOK_INTERVAL").pipe(Config.withDefault(Duration.seconds(2))),
  timeout: Config.duration("WEBHOOK_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  /** Deliveries of one event before it is given up (GAVE_UP, with the last reason). */
  maxAttempts: positiveInt("WEBHOOK_MAX_ATTEMPTS", 12),
  /** The wait after the first failed delivery; it doubles after each failure, up to WEBHOOK_BACKOFF_MAX (each wait jittered down by up to half). */
  backoff: Config.duration("WEBHOOK_BACKOFF").pipe(Config.withDefault(Duration.seconds(10))),
  backoffMax: Config.duration("WEBHOOK_BACKOFF_MAX").pipe(Config.withDefault(Duration.hours(1)))
})

export const AppConfigSchema = Config.all({
  port,
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  nodeEnv,
  logLevel: logLevel.pipe(Config.withDefault(LogLevel.Info)),
  database: Config.all({
    url: databaseUrl.pipe(Config.option),
    pgliteDataDir: Config.string("PGLITE_DATA_DIR").pipe(Config.option),
    poolSize: positiveInt("DATABASE_POOL_SIZE", 10),
    /** How long a pooled connection may sit idle before the pool closes it (0: never); unset, the adapter's default. */
    idleTimeout: Config.duration("DATABASE_IDLE_TIMEOUT").pipe(Config.option),
    /** How often an open event stream reads its session when no change is notified; unset, the adapter's default. */
    changesPoll: Config.duration("SESSION_EVENTS_POLL").pipe(Config.option),
    resetOnChainChange: Config.boolean("RESET_ON_CHAIN_CHANGE").pipe(Config.withDefault(false))
  }),
  chain: Config.all({
    rpcUrl: rpcUrl.pipe(Config.option),
    privateKey,
    networkId: Config.integer("NETWORK_ID").pipe(Config.option),
    usdc: hexAddress("MOCK_USDC_ADDRESS"),
    vault: hexAddress("YIELD_VAULT_ADDRESS"),
    wallet: hexAddress("STREAMING_WALLET_ADDRESS"),
    deploymentBlock: Config.string("DEPLOYMENT_BLOCK").pipe(
      check("DEPLOYMENT_BLOCK", "must be a block number", (s) => /^[0-9]+$/.test(s)),
      Config.map(BigInt),
      Config.option
    ),
    confirmations: Config.option(positiveInt("CONFIRMATIONS", 1)),
    timeout: Config.duration("CHAIN_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
  }),
  settlement: Config.all({
    batch: Config.literal("on", "off")("SETTLEMENT_BATCH").pipe(Config.withDefault("on" as const)),
    // where the chain's pace is not known (in-process chain, a node that mines at once, the first blocks):
    // extra time to collect stops; 0: send at once, stops that arrive while a send is in flight form the next batch
    batchWindow: Config.duration("SETTLEMENT_BATCH_WINDOW").pipe(Config.withDefault(Duration.millis(0))),
    maxBatchSize: positiveInt("SETTLEMENT_MAX_BATCH", 100),
    reconcileEvery: Config.duration("RECONCILE_INTERVAL").pipe(Config.withDefault(Duration.seconds(15))),
    // sending on a slow chain (docs/RELIABILITY.md, "The operator's transactions")
    /** At most one settlement transaction per this interval (not timed to blocks); unset, one per block, timed to land in it. */
    interval: Config.duration("SETTLEMENT_INTERVAL").pipe(Config.option),
    /** How long a transaction in flight waits for a new head before it is looked at anyway (two blocks, if longer, where the pace is known). */
    pollInterval: Config.duration("SETTLEMENT_POLL_INTERVAL").pipe(Config.withDefault(Duration.millis(500))),
    /** Caps of the EIP-1559 fees (wei per gas), for the first send and every replacement. */
    maxFeePerGas: weiOption("MAX_FEE_PER_GAS"),
    maxPriorityFeePerGas: weiOption("MAX_PRIORITY_FEE_PER_GAS"),
    /** Blocks a transaction may wait unmined before it is replaced with the same nonce and higher fees. */
    replaceAfterBlocks: positiveInt("REPLACE_AFTER_BLOCKS", 3),
    sessionMaxIdle: Config.duration("SESSION_MAX_IDLE").pipe(Config.withDefault(Duration.hours(6)))
  }),
  /** Answering on a slow chain: the chain view (src/chain/ChainView.ts) and how long a stop waits. */
  slowChain: Config.all({
    /** How old the view may be before a read goes to the chain; unset: 0 on the in-process chain, else 5 s. */
    viewMaxAge: Config.duration("CHAIN_VIEW_MAX_AGE").pipe(Config.option),
    /** How often the view asks for new blocks; unset: never on the in-process chain, 250 ms on chain 31337, else 1 s. */
    viewPoll: Config.duration("CHAIN_VIEW_POLL").pipe(Config.option),
    /** How long a stop waits for its payment without a `Prefer: wait`; unset: by the chain's pace (README). */
    stopWait: Config.duration("STOP_WAIT").pipe(Config.option)
  }),
  security: Config.all({
    jwtSecret: Config.redacted("JWT_SECRET").pipe(Config.option),
    authRequired: Config.boolean("AUTH_REQUIRED").pipe(Config.option),
    siweDomain: Config.string("SIWE_DOMAIN").pipe(Config.option),
    corsOrigin: list("CORS_ORIGIN", "http://localhost:3000"),
    rateLimitWindowMs: positiveInt("RATE_LIMIT_WINDOW_MS", 900_000),
    rateLimitMaxRequests: Config.integer("RATE_LIMIT_MAX_REQUESTS").pipe(
      check("RATE_LIMIT_MAX_REQUESTS", "must be a non-negative integer (0 turns rate limiting off)", (n) => n >= 0),
      Config.withDefault(100)
    ),
    redisUrl: Config.redacted("REDIS_URL").pipe(Config.option),
    enableHelmet: Config.boolean("ENABLE_HELMET").pipe(Config.withDefault(true)),
    enableCompression: Config.boolean("ENABLE_COMPRESSION").pipe(Config.withDefault(true)),
    bodyLimitBytes: positiveInt("BODY_LIMIT_BYTES", 64 * 1024),
    requestTimeout: Config.duration("REQUEST_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
    /** Lifetime of a sign-in token (JWT). */
    jwtTtl: Config.duration("JWT_TTL").pipe(Config.withDefault(Duration.hours(1))),
    /** Lifetime of a sign-in nonce: the time a client has to sign and send its message. */
    siweNonceTtl: Config.duration("SIWE_NONCE_TTL").pipe(Config.withDefault(Duration.minutes(10))),
    /** Proxies in front of the server that append to X-Forwarded-For: 0 (default) trusts none. */
    trustProxy,
    /** Key prefix of the rate-limit counters in Redis (instances that share limits share a prefix). */
    rateLimitPrefix: Config.string("RATE_LIMIT_PREFIX").pipe(Config.withDefault("payg:ratelimit:"))
  }),
  /** Viewer-signed sessions (docs/SECURITY.md, point 6): how long a quote may wait, and the deadline's margin. */
  authorization: Config.all({
    /** How long a quoted settlement key stays reserved for its viewer and content, waiting for the start. */
    quoteTtl: Config.duration("AUTHORIZATION_QUOTE_TTL").pipe(Config.withDefault(Duration.minutes(10))),
    /**
     * Added to a session's longest life in the deadline: time to mine the settlement and retry a debt. The
     * sweeper stops a signed session this long (plus one RECONCILE_INTERVAL) before its deadline.
     */
    margin: Config.duration("AUTHORIZATION_MARGIN").pipe(Config.withDefault(Duration.days(7)))
  }),
  /** Catalogue management by operators (src/admin, src/content/Admin.ts). */
  admin: Config.all({
    /** ADMIN_ADDRESSES: the addresses whose sign-in tokens may manage the catalogue (comma-separated); none by default. */
    addresses: list("ADMIN_ADDRESSES", "").pipe(
      check("ADMIN_ADDRESSES", "must be addresses (0x followed by 40 hexadecimal digits), comma-separated", (xs) =>
        xs.every((x) => /^0x[0-9a-fA-F]{40}$/.test(x))
      ),
      Config.map((xs) => xs.map((x) => x.toLowerCase()))
    ),
    /** CONTENT_MANAGER_KEY: the key holding CONTENT_MANAGER_ROLE on RPC deployments (the dev chain's operator holds it). */
    contentManagerKey: Config.redacted("CONTENT_MANAGER_KEY").pipe(
      check("CONTENT_MANAGER_KEY", "must be 0x followed by 64 hexadecimal digits", (k) => /^0x[0-9a-fA-F]{64}$/.test(Redacted.value(k))),
      Config.option
    )
  }),
  /** Traces over OTLP/HTTP (src/platform/Tracing.ts). */
  tracing: Config.all({
    endpoint: otlpEndpoint,
    serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("payg")),
    /** OTEL_BSP_SCHEDULE_DELAY: milliseconds between exports of the finished spans. */
    exportInterval: positiveInt("OTEL_BSP_SCHEDULE_DELAY", 5_000).pipe(Config.map(Duration.millis))
  }),
  enableMetrics: Config.boolean("ENABLE_METRICS").pipe(Config.withDefault(true)),
  webhooks,
  /** Heartbeats (README "Heartbeats"): a session that has them is billed up to its last one plus this. */
  heartbeat: Config.all({
    grace: Config.duration("HEARTBEAT_GRACE").pipe(Config.withDefault(Duration.seconds(30)))
  })
})

export type AppConfigShape = Config.Config.Success<typeof AppConfigSchema>

export class AppConfig extends Context.Tag("payg/AppConfig")<AppConfig, AppConfigShape>() {
  static readonly layer = Layer.effect(AppConfig, AppConfigSchema)
  /** For tests: the defaults with overrides, without touching the environment. */
  static readonly make = (f: (c: AppConfigShape) => AppConfigShape = (c) => c) =>
    Layer.effect(AppConfig, Effect.map(AppConfigSchema, f))
}

/** Auth is required in production unless AUTH_REQUIRED says otherwise. */
export const authRequired = (c: AppConfigShape): boolean =>
  Option.getOrElse(c.security.authRequired, () => c.nodeEnv === "production")

/** One line per bad setting, naming the variable, never its value. */
export const describeConfigError = (error: ConfigError.ConfigError): string => {
  const lines: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "InvalidData":
      case "MissingData":
      case "SourceUnavailable":
      case "Unsupported":
        lines.push(`${e.path.join(".") || "configuration"}: ${e.message}`)
        return
    }
  }
  walk(error)
  return [...new Set(lines)].join("; ")
}

export const isConfigError = (u: unknown): u is ConfigError.ConfigError => ConfigError.isConfigError(u)

