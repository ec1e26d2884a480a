import { HttpClientRequest } from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { brotliDecompressSync, gunzipSync } from "node:zlib"
import { IsolatedApp, captureLogs, get, helmetNames, messageOf, postJson, rawGet, send, withLogs } from "./support/security.js"

const seedError = (status: number) => ({
  error: expect.any(String),
  message: expect.any(String),
  statusCode: status,
  timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
})


/** A Prometheus text exposition, checked line by line; returns the samples. */
const parsePrometheus = (text: string) => {
  const samples: Array<{ readonly name: string; readonly labels: Record<string, string>; readonly value: number }> = []
  const types = new Map<string, string>()
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
  for (const line of text.split("\n")) {
    if (line.length === 0) continue
    if (line.startsWith("# HELP ")) continue
    if (line.startsWith("# TYPE ")) {
      const [, , name, kind] = line.split(" ")
      expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(kind)
      expect(types.has(name ?? "")).toBe(false)
      types.set(name ?? "", kind ?? "")
      continue
    }
    const m = sample.exec(line)
    expect(m, `not a Prometheus sample line: ${line}`).not.toBeNull()
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[3] ?? "").matchAll(label)) labels[l[1] ?? ""] = l[2] ?? ""
    samples.push({ name: m[1] ?? "", labels, value: m[4] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[4]) })
  }
  return { samples, types }
}

describe("HTTP security and monitoring (flags on)", () => {
  const logs = captureLogs()
  layer(
    withLogs(
      IsolatedApp({
        CORS_ORIGIN: "http://localhost:3000,https://app.example.com",
        BODY_LIMIT_BYTES: "2048"
      }),
      logs
    ),
    { timeout: 120_000, excludeTestServices: true }
  )((it) => {
    it.effect("CORS: a preflight from an allowed origin is answered with its origin, credentials, methods and headers", () =>
      Effect.gen(function* () {
        const answer = yield* send(
          HttpClientRequest.make("OPTIONS")("/api/session/start", {
            headers: {
              origin: "https://app.example.com",
              "access-control-request-method": "POST",
              "access-control-request-headers": "authorization, content-type"
            }
          })
        )
        expect(answer.status).toBe(204)
        expect(answer.headers["access-control-allow-origin"]).toBe("https://app.example.com")
        expect(answer.headers["access-control-allow-credentials"]).toBe("true")
        expect(answer.headers["access-control-allow-methods"]).toMatch(/POST/)
        expect(answer.headers["access-control-allow-headers"]).toMatch(/authorization/)
        expect(answer.headers["access-control-allow-headers"]).toMatch(/content-type/)
        expect(answer.headers["access-control-max-age"]).toBe("600")
        expect(answer.headers["vary"]).toMatch(/Origin/)
        expect(answer.headers["x-request-id"]).toBeDefined()
      }))

    it.effect("CORS: another origin gets no Access-Control-Allow-Origin; an allowed one is echoed on ordinary responses", () =>
      Effect.gen(function* () {
        const evil = yield* send(
          HttpClientRequest.make("OPTIONS")("/api/session/start", {
            headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" }
          })
        )
        expect(evil.headers["access-control-allow-origin"]).toBeUndefined()
        const plainEvil = yield* get("/health", { origin: "https://evil.example.com" })
        expect(plainEvil.headers["access-control-allow-origin"]).toBeUndefined()
        const ok = yield* get("/health", { origin: "http://localhost:3000" })
        expect(ok.headers["access-control-allow-origin"]).toBe("http://localhost:3000")
        expect(ok.headers["access-control-expose-headers"]).toMatch(/x-request-id/)
        const error = yield* get("/api/nope", { origin: "http://localhost:3000" })
        expect(error.status).toBe(404)
        expect(error.headers["access-control-allow-origin"]).toBe("http://localhost:3000")
      }))

    it.effect("security headers (helmet's defaults) on every response; the docs page may run its inline script", () =>
      Effect.gen(function* () {
        for (const answer of [yield* get("/health"), yield* get("/api/nope"), yield* postJson("/api/session/start", { bad: true })]) {
          for (const name of helmetNames) expect(answer.headers[name], name).toBeDefined()
          expect(answer.headers["x-content-type-options"]).toBe("nosniff")
          expect(answer.headers["x-frame-options"]).toBe("SAMEORIGIN")
          expect(answer.headers["content-security-policy"]).toMatch(/script-src 'self'(;|$)/)
        }
        const docs = yield* get("/docs")
        expect(docs.status).toBe(200)
        expect(docs.headers["content-security-policy"]).toMatch(/script-src 'self' 'unsafe-inline'/)
        expect(docs.headers["content-security-policy"]).toMatch(/object-src 'none'/)
      }))

    it.effect("X-Request-Id: a sane one is echoed, an absent or insane one is replaced by a fresh id", () =>
      Effect.gen(function* () {
        expect((yield* get("/health", { "x-request-id": "abc-123.DEF_456" })).headers["x-request-id"]).toBe("abc-123.DEF_456")
        const generated = (yield* get("/health")).headers["x-request-id"]
        expect(generated).toMatch(/^[0-9a-f-]{36}$/)
        const insane = (yield* get("/health", { "x-request-id": "x".repeat(200) })).headers["x-request-id"]
        expect(insane).toMatch(/^[0-9a-f-]{36}$/)
        const line = logs.lines.find((l) => l.includes("abc-123.DEF_456"))
        expect(line).toBeDefined()
        const entry: unknown = JSON.parse(line ?? "{}")
        expect(entry).toMatchObject({
          message: "http request",
          logLevel: "INFO",
          annotations: { requestId: "abc-123.DEF_456", method: "GET", route: "/health", path: "/health", status: 200, durationMs: expect.any(Number) }
        })
      }))

    it.effect("a body over BODY_LIMIT_BYTES is 413 in the seed format, declared or streamed", () =>
      Effect.gen(function* () {
        const big = { userAddress: "0x742C4B0F8e6cD2E0b35e8eF6dbC66f5c6D4B9E8a", contentId: "x".repeat(4000) }
        const declared = yield* postJson("/api/session/start", big)
        expect(declared.status).toBe(413)
        expect(declared.body).toEqual({ ...seedError(413), error: "Payload Too Large" })
        const chunk = new TextEncoder().encode(JSON.stringify(big))
        const streamed = yield* send(
          HttpClientRequest.post("/api/session/start").pipe(
            HttpClientRequest.bodyStream(Stream.fromChunk(Chunk.of(chunk)), { contentType: "application/json" })
          )
        )
        expect(streamed.status).toBe(413)
        expect(streamed.body).toEqual({ ...seedError(413), error: "Payload Too Large" })
        // under the limit it is an ordinary request again, declared or streamed (the body read to check it is not lost)
        const small = { userAddress: big.userAddress, contentId: "no-such-content" }
        const declaredSmall = yield* postJson("/api/session/start", small)
        expect(declaredSmall.status).toBe(404)
        const streamedSmall = yield* send(
          HttpClientRequest.post("/api/session/start").pipe(
            HttpClientRequest.bodyStream(
              Stream.fromIterable([JSON.stringify(small).slice(0, 20), JSON.stringify(small).slice(20)]).pipe(Stream.encodeText),
              { contentType: "application/json" }
            )
          )
        )
        expect(streamedSmall.status).toBe(404)
        expect(messageOf(streamedSmall)).toMatch(/no-such-content/)
      }))

    it.effect("responses above 1 KiB are compressed when the client accepts it, and decode to the same body", () =>
      Effect.gen(function* () {
        const plain = yield* rawGet("/openapi.json", {})
        expect(plain.headers["content-encoding"]).toBeUndefined()
        expect(plain.headers["vary"]).toMatch(/Accept-Encoding/)
        const spec = new TextDecoder().decode(plain.bytes)

        const gz = yield* rawGet("/openapi.json", { "accept-encoding": "gzip" })
        expect(gz.headers["content-encoding"]).toBe("gzip")
        expect(gz.bytes.byteLength).toBeLessThan(plain.bytes.byteLength)
        expect(Number(gz.headers["content-length"])).toBe(gz.bytes.byteLength)
        expect(gunzipSync(gz.bytes).toString("utf8")).toBe(spec)

        const br = yield* rawGet("/openapi.json", { "accept-encoding": "gzip, deflate, br" })
        expect(br.headers["content-encoding"]).toBe("br")
        expect(brotliDecompressSync(br.bytes).toString("utf8")).toBe(spec)

        const refused = yield* rawGet("/openapi.json", { "accept-encoding": "br;q=0, gzip;q=0" })
        expect(refused.headers["content-encoding"]).toBeUndefined()

        const small = yield* rawGet("/health", { "accept-encoding": "gzip" })
        expect(small.headers["content-encoding"]).toBeUndefined()

        const list = yield* rawGet("/api/content", { "accept-encoding": "gzip" })
        expect(list.status).toBe(200)
        if (list.headers["content-encoding"] === "gzip") expect(JSON.parse(gunzipSync(list.bytes).toString("utf8"))).toMatchObject({ success: true })
      }))

    it.effect("/metrics is Prometheus text and counts requests per route and status", () =>
      Effect.gen(function* () {
        const before = parsePrometheus(String((yield* get("/metrics")).body))
        const count = (samples: typeof before.samples, route: string, status: string) =>
          samples.find((s) => s.name === "http_requests_total" && s.labels.route === route && s.labels.status === status && s.labels.method === "GET")
            ?.value ?? 0
        const healthBefore = count(before.samples, "/health", "200")
        for (let i = 0; i < 3; i++) yield* get("/health")
        yield* get("/api/nope")

        const answer = yield* get("/metrics")
        expect(answer.status).toBe(200)
        expect(answer.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/)
        const { samples, types } = parsePrometheus(String(answer.body))
        expect(count(samples, "/health", "200")).toBe(healthBefore + 3)
        expect(count(samples, "unmatched", "404")).toBeGreaterThanOrEqual(1)
        expect(types.get("http_requests_total")).toBe("counter")
        expect(types.get("http_request_duration_seconds")).toBe("histogram")
        // a histogram series: cumulative buckets ending at +Inf, equal to _count
        const series = (suffix: string) =>
          samples.filter((s) => s.name === `http_request_duration_seconds${suffix}` && s.labels.route === "/health" && s.labels.status === "200")
        const buckets = series("_bucket")
        expect(buckets.length).toBeGreaterThan(5)
        const values = buckets.map((b) => b.value)
        expect(values).toEqual([...values].sort((a, b) => a - b))
        expect(buckets.at(-1)?.labels.le).toBe("+Inf")
        expect(buckets.at(-1)?.value).toBe(series("_count")[0]?.value)
        expect(series("_sum")).toHaveLength(1)
        // the exported business metrics are there from the start
        for (const name of [
          "payg_sessions_started_total",
          "payg_sessions_stopped_total",
          "payg_settlements_sent_total",
          "payg_settlements_confirmed_total",
          "payg_settlements_failed_total"
        ]) {
          expect(types.get(name), name).toBe("counter")
        }
        expect(types.get("process_resident_memory_bytes")).toBe("gauge")
        // database pool usage, read from the pool at scrape time
        const pool = (state: string) => samples.find((s) => s.name === "payg_db_pool_connections" && s.labels.state === state)?.value
        expect(types.get("payg_db_pool_connections")).toBe("gauge")
        expect(pool("total")).toBeGreaterThanOrEqual(1)
        expect(pool("idle")).toBeLessThanOrEqual(pool("total") ?? 0)
        expect(pool("waiting")).toBe(0)
      }))
  })
})
