import { describe, expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Option, Schedule, Scope } from "effect"
import { createServer } from "node:http"
import { AppConfig } from "../src/config.js"
import { tracesUrl } from "../src/platform/Tracing.js"
import { configFrom } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { freePort } from "./support/process.js"
import { IsolatedApp, alice, bearer, dataField, get, postJson, signIn } from "./support/security.js"
import { fundedViewer } from "./support/users.js"

/** One OTLP/HTTP export request as the receiver got it. */
interface Received {
  readonly path: string
  readonly contentType: string
  readonly body: string
}

/** The parts of an OTLP/JSON span this test reads. */
interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }>
}

interface OtlpExport {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: { readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }> }
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }>
  }>
}

class Receiver extends Context.Tag("test/OtlpReceiver")<Receiver, { readonly url: string; readonly received: Array<Received> }>() {}

/** An OTLP collector stand-in: a local HTTP server that keeps every request and answers 200 `{}`. */
const ReceiverLive = Layer.scoped(
  Receiver,
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly received: Array<Received>; readonly close: () => void }>((resume) => {
      const received: Array<Received> = []
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          received.push({ path: req.url ?? "", contentType: req.headers["content-type"] ?? "", body: Buffer.concat(chunks).toString("utf8") })
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}`,
            received,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })
        )
      })
    }),
    (r) => Effect.sync(r.close)
  )
)

const exportsOf = (received: ReadonlyArray<Received>): ReadonlyArray<OtlpExport> =>
  received.filter((r) => r.path === "/v1/traces").map((r): OtlpExport => JSON.parse(r.body))

const spansOf = (received: ReadonlyArray<Received>): ReadonlyArray<OtlpSpan> =>
  exportsOf(received).flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))

const attribute = (span: OtlpSpan, key: string): string | undefined => span.attributes.find((a) => a.key === key)?.value.stringValue

/** Waits (up to 10 s) until the received spans satisfy `found`, and returns its answer. */
const eventually = <A>(received: ReadonlyArray<Received>, found: (spans: ReadonlyArray<OtlpSpan>) => A | undefined) =>
  Effect.suspend(() => {
    const a = found(spansOf(received))
    return a === undefined ? Effect.fail("not yet") : Effect.succeed(a)
  }).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(50)).pipe(Schedule.upTo(Duration.seconds(10)))),
    Effect.orElse(() => Effect.die(new Error(`expected spans not received; got: ${spansOf(received).map((s) => s.name).join(", ")}`)))
  )

const serverSpanOf = (requestId: string) => (spans: ReadonlyArray<OtlpSpan>) =>
  spans.find((s) => s.kind === 2 && attribute(s, "requestId") === requestId)

const traced = (url: string, vars: Record<string, string> = {}) =>
  IsolatedApp({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_SERVICE_NAME: "payg-under-test", ...vars })

describe("traces over OTLP", () => {
  const App = Layer.unwrapEffect(Effect.map(Receiver, (r) => traced(r.url, { OTEL_BSP_SCHEDULE_DELAY: "100" }))).pipe(
    Layer.provideMerge(ReceiverLive)
  )

  layer(App, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("a request's server span carries its X-Request-Id, and Sessions.start in the same trace carries the session id", () =>
      Effect.gen(function* () {
        const { received } = yield* Receiver
        const user = yield* fundedViewer()
        const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
        expect(started.status).toBe(201)
        const requestId = started.headers["x-request-id"]
        const sessionId = dataField(started, "sessionId")
        expect(requestId).toMatch(/^[0-9a-f-]{36}$/)

        const { server, start } = yield* eventually(received, (spans) => {
          const server = requestId === undefined ? undefined : serverSpanOf(requestId)(spans)
          const start = spans.find((s) => s.name === "Sessions.start" && attribute(s, "sessionId") === sessionId)
          return server !== undefined && start !== undefined ? { server, start } : undefined
        })
        expect(attribute(server, "http.request.method")).toBe("POST")
        expect(attribute(server, "http.route")).toBe("/api/session/start")
        expect(start.traceId).toBe(server.traceId)
        expect(start.spanId).not.toBe(server.spanId)

        // sent as OTLP/HTTP JSON to <endpoint>/v1/traces, named by OTEL_SERVICE_NAME
        const first = received.find((r) => r.path === "/v1/traces")
        expect(first?.contentType).toMatch(/^application\/json/)
        const resource = exportsOf(received)[0]?.resourceSpans[0]?.resource.attributes ?? []
        expect(resource.find((a) => a.key === "service.name")?.value.stringValue).toBe("payg-under-test")
        expect(received.every((r) => r.path === "/v1/traces")).toBe(true)
      }))

    it.effect("the stop of a session is traced with its id, down to SettlementOutbox.finish", () =>
      Effect.gen(function* () {
        const { received } = yield* Receiver
        const user = yield* fundedViewer()
        const started = yield* postJson("/api/session/start", { userAddress: user, contentId: "yield-farming-101" })
        const sessionId = dataField(started, "sessionId")
        // watched for ten minutes: a charge, so the stop settles on chain
        yield* Effect.flatMap(TimeTravel, (time) => time.advance("10 minutes"))
        const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: user })
        expect(stopped.status).toBe(200)
        const requestId = stopped.headers["x-request-id"] ?? ""
        const { server, stop, finish } = yield* eventually(received, (spans) => {
          const server = serverSpanOf(requestId)(spans)
          const stop = spans.find((s) => s.name === "Sessions.stop" && attribute(s, "sessionId") === sessionId)
          const finish = spans.find((s) => s.name === "SettlementOutbox.finish" && attribute(s, "sessionId") === sessionId)
          return server && stop && finish ? { server, stop, finish } : undefined
        })
        expect(stop.traceId).toBe(server.traceId)
        expect(finish.traceId).toBe(server.traceId)
      }))

    it.effect("a sign-in token is never exported: neither from the sign-in answer nor from the requests that carry it", () =>
      Effect.gen(function* () {
        const { received } = yield* Receiver
        const token = yield* signIn(alice)
        const answer = yield* get(`/api/user/${alice.address}/stats`, { ...bearer(token), "x-request-id": "traced-stats-1" })
        expect(answer.status).toBe(200)
        const server = yield* eventually(received, serverSpanOf("traced-stats-1"))
        expect(attribute(server, "http.request.header.authorization")).toBe("<redacted>")
        expect(received.some((r) => r.body.includes(token))).toBe(false)
        // and the sign-in itself was traced (so its spans were looked at, not missed)
        expect(spansOf(received).some((s) => s.name === "SignIn.verify")).toBe(true)
      }))
  })

  describe("when the collector is away", () => {
    const Away = Layer.unwrapEffect(Effect.map(freePort, (port) => traced(`http://127.0.0.1:${port}`, { OTEL_BSP_SCHEDULE_DELAY: "10" })))
    layer(Away, { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("requests are answered as usual", () =>
        Effect.gen(function* () {
          for (let i = 0; i < 20; i++) {
            const started = Date.now()
            expect((yield* get("/api/content")).status).toBe(200)
            expect(Date.now() - started).toBeLessThan(1_000)
            yield* Effect.sleep(Duration.millis(10))
          }
        }))
    })
  })

  layer(ReceiverLive, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("the spans still buffered when the server stops are sent before it exits", () =>
      Effect.gen(function* () {
        const { url, received } = yield* Receiver
        const scope = yield* Scope.make()
        // the default interval (5 s) is far longer than this test: only the shutdown sends them
        const context = yield* Layer.buildWithScope(traced(url), scope)
        const answer = yield* get("/health", { "x-request-id": "traced-at-stop-1" }).pipe(Effect.provide(context))
        expect(answer.status).toBe(200)
        expect(Option.fromNullable(serverSpanOf("traced-at-stop-1")(spansOf(received)))._tag).toBe("None")
        yield* Scope.close(scope, Exit.void)
        expect(serverSpanOf("traced-at-stop-1")(spansOf(received))).toBeDefined()
      }))
  })
})

describe("tracing configuration", () => {
  const tracingOf = (vars: Record<string, string>) => Effect.map(Effect.provide(AppConfig, configFrom(vars)), (c) => c.tracing)

  layer(Layer.empty)((it) => {
    it.effect("off unless OTEL_EXPORTER_OTLP_ENDPOINT names an http(s) URL; the service is payg by default", () =>
      Effect.gen(function* () {
        const unset = yield* tracingOf({})
        expect(Option.isNone(unset.endpoint)).toBe(true)
        expect(unset.serviceName).toBe("payg")
        expect(Duration.toMillis(unset.exportInterval)).toBe(5_000)
        expect(Option.isNone((yield* tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "  " })).endpoint)).toBe(true)
        const set = yield* tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "payg-eu" })
        expect(Option.getOrNull(set.endpoint)).toBe("http://collector:4318")
        expect(set.serviceName).toBe("payg-eu")
        const bad = yield* Effect.either(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }))
        expect(bad._tag === "Left" && String(bad.left)).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/)
      }))

    it.effect("spans go to <endpoint>/v1/traces, with or without a trailing slash", () =>
      Effect.sync(() => {
        expect(tracesUrl("http://collector:4318")).toBe("http://collector:4318/v1/traces")
        expect(tracesUrl("https://otel.example/base/")).toBe("https://otel.example/base/v1/traces")
      }))
  })
})
