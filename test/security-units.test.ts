import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Metric, MetricBoundaries, Option } from "effect"
import { acceptedDomains } from "../src/auth/SignIn.js"
import { Tokens, TokensLive } from "../src/auth/Tokens.js"
import { AppConfig } from "../src/config.js"
import { toAddress } from "../src/domain/Address.js"
import { ipv6Prefix64, makeClientIp, normalizeIp } from "../src/http/ClientIp.js"
import { negotiate } from "../src/http/Compression.js"
import { HttpPipeline, HttpPipelineLive, requestIdOf } from "../src/http/Pipeline.js"
import { makeClientLimiter } from "../src/http/RateLimit.js"
import { makeCors } from "../src/http/Security.js"
import { escapeLabelValue, metricName, render } from "../src/metrics/Prometheus.js"
import { startupFailureLine } from "../src/platform/StartupError.js"
import { configFrom } from "./support/app.js"
import { captureLogs, get } from "./support/security.js"

const requestFrom = (url: string, headers: Record<string, string>, remote: string) =>
  HttpServerRequest.fromWeb(new Request(`http://localhost${url}`, { headers })).modify({ remoteAddress: remote })

describe("client IP", () => {
  it("is the socket's address unless TRUST_PROXY says how many proxies to believe", () => {
    const direct = makeClientIp(0)
    const behindOne = makeClientIp(1)
    const spoofed = requestFrom("/", { "x-forwarded-for": "6.6.6.6, 203.0.113.7" }, "10.0.0.2")
    expect(direct(spoofed)).toBe("10.0.0.2")
    // one trusted proxy appended the address it saw: the last entry; "6.6.6.6" was written by the client
    expect(behindOne(spoofed)).toBe("203.0.113.7")
    expect(makeClientIp(2)(spoofed)).toBe("6.6.6.6")
    expect(makeClientIp(5)(spoofed)).toBe("6.6.6.6")
    expect(behindOne(requestFrom("/", {}, "10.0.0.2"))).toBe("10.0.0.2")
  })

  it("IPv4-mapped addresses are IPv4; IPv6 clients are keyed by their /64", () => {
    expect(normalizeIp("::ffff:127.0.0.1")).toBe("127.0.0.1")
    expect(normalizeIp("2001:db8:0:1:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:0:1::/64")
    expect(normalizeIp("2001:DB8:0:1::42")).toBe("2001:db8:0:1::/64")
    expect(ipv6Prefix64("::1")).toBe("0:0:0:0::/64")
    expect(ipv6Prefix64("fe80::1%eth0")).toBe("fe80:0:0:0::/64")
  })
})

describe("small pieces of the pipeline", () => {
  it("Accept-Encoding negotiation honours q-values and prefers brotli", () => {
    expect(negotiate(undefined)).toBeUndefined()
    expect(negotiate("gzip")).toBe("gzip")
    expect(negotiate("gzip, deflate, br")).toBe("br")
    expect(negotiate("br;q=0.5, gzip")).toBe("gzip")
    expect(negotiate("br;q=0, gzip;q=0")).toBeUndefined()
    expect(negotiate("*")).toBe("br")
    expect(negotiate("identity")).toBeUndefined()
  })

  it("X-Request-Id is kept only when sane", () => {
    expect(requestIdOf("req-1")).toBe("req-1")
    expect(requestIdOf("with space")).not.toBe("with space")
    expect(requestIdOf("a\nb")).not.toBe("a\nb")
    expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("CORS echoes only configured origins; * allows any without credentials", () => {
    const cors = makeCors(["http://localhost:3000", "https://app.example.com/"])
    expect(cors.headers("https://app.example.com")["access-control-allow-origin"]).toBe("https://app.example.com")
    expect(cors.headers("https://evil.example.com")["access-control-allow-origin"]).toBeUndefined()
    expect(cors.headers(undefined)["vary"]).toBe("Origin")
    const any = makeCors(["*"])
    expect(any.headers("https://whoever.example")["access-control-allow-origin"]).toBe("*")
    expect(any.headers("https://whoever.example")["access-control-allow-credentials"]).toBeUndefined()
  })

  it.effect("SIWE domains: SIWE_DOMAIN when set, else the hosts of CORS_ORIGIN", () =>
    Effect.gen(function* () {
      const byDefault = yield* Effect.provide(AppConfig, configFrom({ CORS_ORIGIN: "http://localhost:3000, https://App.Example.com, *" }))
      expect(acceptedDomains(byDefault)).toEqual(["localhost:3000", "app.example.com"])
      const explicit = yield* Effect.provide(AppConfig, configFrom({ SIWE_DOMAIN: "payg.example, www.payg.example:8443" }))
      expect(acceptedDomains(explicit)).toEqual(["payg.example", "www.payg.example:8443"])
    }))
})

describe("Prometheus text", () => {
  it.effect("renders counters, gauges, histograms, summaries and frequencies, one TYPE per name, escaped", () =>
    Effect.gen(function* () {
      const id = Math.random().toString(36).slice(2, 8)
      const counter = Metric.counter(`t_${id}_requests_total`, { description: "Requests\nserved" })
      yield* Metric.incrementBy(Metric.tagged(counter, "path", 'a"b\\c\nd'), 2)
      yield* Metric.increment(Metric.tagged(counter, "path", "/x"))
      yield* Metric.set(Metric.gauge(`t_${id}.in-flight`), 3)
      const histogram = Metric.histogram(`t_${id}_seconds`, MetricBoundaries.fromIterable([0.1, 1]))
      yield* Metric.update(histogram, 0.05)
      yield* Metric.update(histogram, 0.5)
      yield* Metric.update(histogram, 5)
      yield* Metric.update(Metric.frequency(`t_${id}_outcomes`), "ok")
      yield* Metric.update(
        Metric.summary({ name: `t_${id}_latency`, maxAge: "1 minute", maxSize: 10, error: 0.01, quantiles: [0.5, 0.99] }),
        2
      )
      const text = render(yield* Metric.snapshot)
      const mine = text.split("\n").filter((l) => l.includes(`t_${id}`))
      expect(mine.filter((l) => l.startsWith(`# TYPE t_${id}_requests_total`))).toEqual([`# TYPE t_${id}_requests_total counter`])
      expect(mine).toContain(`# HELP t_${id}_requests_total Requests\\nserved`)
      expect(mine).toContain(`t_${id}_requests_total{path="a\\"b\\\\c\\nd"} 2`)
      expect(mine).toContain(`t_${id}_requests_total{path="/x"} 1`)
      expect(mine).toContain(`# TYPE t_${id}_in_flight gauge`)
      expect(mine).toContain(`t_${id}_in_flight 3`)
      expect(mine).toContain(`# TYPE t_${id}_seconds histogram`)
      expect(mine).toContain(`t_${id}_seconds_bucket{le="0.1"} 1`)
      expect(mine).toContain(`t_${id}_seconds_bucket{le="1"} 2`)
      expect(mine).toContain(`t_${id}_seconds_bucket{le="+Inf"} 3`)
      expect(mine).toContain(`t_${id}_seconds_sum 5.55`)
      expect(mine).toContain(`t_${id}_seconds_count 3`)
      expect(mine).toContain(`t_${id}_outcomes{key="ok"} 1`)
      expect(mine).toContain(`# TYPE t_${id}_latency summary`)
      expect(mine.some((l) => l.startsWith(`t_${id}_latency{quantile="0.5"} `))).toBe(true)
      expect(mine).toContain(`t_${id}_latency_count 1`)
      expect(metricName("9lives")).toBe("_9lives")
      expect(escapeLabelValue('x"\n\\')).toBe('x\\"\\n\\\\')
    }))
})

describe("rate limiter (memory store)", () => {
  it.scoped("allows RATE_LIMIT_MAX_REQUESTS per window per client, then refuses with a retry delay", () =>
    Effect.gen(function* () {
      const limiter = Option.getOrThrow(
        yield* Effect.provide(makeClientLimiter, configFrom({ RATE_LIMIT_MAX_REQUESTS: "3", RATE_LIMIT_WINDOW_MS: "60000" }))
      )
      const decisions = yield* Effect.forEach([1, 2, 3, 4], () => limiter.consume("192.0.2.1"))
      expect(decisions.map((d) => d._tag)).toEqual(["Allowed", "Allowed", "Allowed", "Limited"])
      expect(decisions[2]).toMatchObject({ _tag: "Allowed", limit: 3, remaining: 0 })
      expect(decisions[3]).toMatchObject({ _tag: "Limited", limit: 3, retryAfterSeconds: expect.any(Number) })
      expect((yield* limiter.consume("192.0.2.2"))._tag).toBe("Allowed")
    }))

  it.scoped("RATE_LIMIT_MAX_REQUESTS=0 turns it off", () =>
    Effect.gen(function* () {
      expect(Option.isNone(yield* Effect.provide(makeClientLimiter, configFrom({ RATE_LIMIT_MAX_REQUESTS: "0" })))).toBe(true)
    }))

  it.scoped("an unreachable REDIS_URL refuses to start, without echoing the URL", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(makeClientLimiter, configFrom({ RATE_LIMIT_MAX_REQUESTS: "5", REDIS_URL: "redis://user:hunter2@127.0.0.1:1" }))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(String(exit.cause)).toMatch(/Redis does not answer/)
        expect(String(exit.cause)).not.toContain("hunter2")
      }
    }), { timeout: 20_000 })
})

describe("sign-in tokens", () => {
  const tokensWith = (vars: Record<string, string>) => TokensLive.pipe(Layer.provide(configFrom(vars)))

  it.effect("production without JWT_SECRET, or with a short one, refuses to start", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.exit(Effect.provide(Tokens, tokensWith({ NODE_ENV: "production" })))
      expect(Exit.isFailure(missing) && String(missing.cause)).toMatch(/JWT_SECRET is not set/)
      const short = yield* Effect.exit(Effect.provide(Tokens, tokensWith({ NODE_ENV: "production", JWT_SECRET: "short" })))
      expect(Exit.isFailure(short) && String(short.cause)).toMatch(/at least 32 characters/)
      if (Exit.isFailure(short)) expect(String(short.cause)).not.toContain('"short"')
    }))

  it.effect("development without JWT_SECRET uses a random secret and warns, never logging it", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const capture = Logger.replace(Logger.defaultLogger, Logger.map(Logger.jsonLogger, (l) => { lines.push(l) }))
      const alice = toAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")
      const { address, token } = yield* Effect.flatMap(Tokens, (t) =>
        Effect.flatMap(t.issue(alice), (issued) => Effect.map(t.verify(issued.token), (address) => ({ address, token: issued.token })))
      ).pipe(Effect.provide(tokensWith({})), Effect.provide(capture))
      expect(address).toBe(alice)
      expect(lines.some((l) => l.includes("JWT_SECRET is not set"))).toBe(true)
      expect(lines.join("\n")).not.toContain(token)
      // another process (another random secret) does not accept it
      const other = yield* Effect.flatMap(Tokens, (t) => Effect.either(t.verify(token))).pipe(Effect.provide(tokensWith({})), Effect.provide(Logger.remove(Logger.defaultLogger)))
      expect(other._tag).toBe("Left")
    }))

  it.effect("the refusal is printed as one line naming the variable (main.ts prints startupFailureLine)", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.provide(Tokens, tokensWith({ NODE_ENV: "production" })))
      expect(Exit.isFailure(exit) && startupFailureLine(exit.cause)).toBe(
        "payg: cannot start: JWT_SECRET is not set; sign-in tokens cannot be issued in production without it"
      )
    }))
})

describe("request timeout", () => {
  const slowApp = HttpRouter.empty.pipe(
    HttpRouter.get("/slow", Effect.as(Effect.sleep("10 seconds"), HttpServerResponse.text("too late"))),
    HttpRouter.get("/fast", Effect.succeed(HttpServerResponse.text("ok")))
  )
  const logs = captureLogs()
  const SlowServer = Layer.unwrapEffect(Effect.map(HttpPipeline, ({ middleware }) => HttpServer.serve(slowApp, middleware))).pipe(
    Layer.provideMerge(HttpPipelineLive),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(configFrom({ REQUEST_TIMEOUT: "300 millis", CORS_ORIGIN: "http://localhost:3000" })),
    Layer.provide(logs.layer)
  )
  layer(SlowServer, { timeout: 30_000, excludeTestServices: true })((it) => {
    it.effect("a handler slower than REQUEST_TIMEOUT is answered 503 in the seed format, with the usual headers", () =>
      Effect.gen(function* () {
        const started = Date.now()
        const answer = yield* get("/slow", { origin: "http://localhost:3000", "x-request-id": "slow-1" })
        expect(Date.now() - started).toBeLessThan(3_000)
        expect(answer.status).toBe(503)
        expect(answer.body).toEqual({
          error: "Service Unavailable",
          message: "the request did not complete within 300ms",
          statusCode: 503,
          timestamp: expect.any(String)
        })
        expect(answer.headers["x-request-id"]).toBe("slow-1")
        expect(answer.headers["x-content-type-options"]).toBe("nosniff")
        expect(answer.headers["access-control-allow-origin"]).toBe("http://localhost:3000")
        expect((yield* get("/fast")).status).toBe(200)
        // the log says 503 too
        yield* Effect.sleep("50 millis")
        const line = logs.lines.find((l) => l.includes("slow-1") && l.includes('"http request"'))
        expect(line).toMatch(/"status":503/)
      }))
  })
})
