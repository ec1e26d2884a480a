import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { jsonDepth } from "../src/http/jsonDepth.js"
import { TestApp, apiClient } from "./support/app.js"
import { serverPort } from "./support/fuzz.js"
import { postJson } from "./support/http.js"
import { IsolatedApp, dataField } from "./support/security.js"
import { fundedViewer, randomAddress } from "./support/users.js"

const seedError = {
  error: expect.any(String),
  message: expect.any(String),
  statusCode: expect.any(Number),
  timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
}

describe("HTTP foundation", () => {
  it.layer(TestApp(), { timeout: 120_000 })((it) => {
    it.effect("GET /health answers healthy", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const health = yield* client.system.health()
        expect(health.status).toBe("healthy")
        expect(health.environment).toBe("test")
      }))

    it.effect("GET /api/status reports the chain and the database", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const status = yield* client.system.status()
        expect(status.status).toBe("operational")
        expect(status.network.chainId).toBe(31337)
        expect(status.network.blockNumber).toBeGreaterThan(0)
        expect(status.database.reachable).toBe(true)
      }))

    it.effect("an unknown route is a 404 in the seed's error format", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const res = yield* http.get("/api/nope")
        expect(res.status).toBe(404)
        const body = yield* res.json
        expect(body).toEqual({ ...seedError, error: "Not Found", statusCode: 404 })
      }))

    it.effect("paths are case-sensitive: a known path in another case is no route (404)", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        for (const path of ["/API/content", "/api/Content", "/Health", "/api/content/INTRO-TO-DEFI/x", "/api/SESSION/start"]) {
          const res = yield* http.get(path)
          expect(res.status, path).toBe(404)
          expect(yield* res.json).toEqual({ ...seedError, error: "Not Found", statusCode: 404 })
        }
        // a path parameter keeps its own rules (an address is accepted in any case)
        expect((yield* http.get("/api/user/0x742C4B0F8E6CD2E0B35E8EF6DBC66F5C6D4B9E8A/balance")).status).toBe(200)
      }))

    it.effect("an unsupported method on a known path is 405 with Allow, in the seed's error format", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const cases: ReadonlyArray<readonly [HttpClientRequest.HttpClientRequest, string]> = [
          [HttpClientRequest.del("/api/content"), "GET, HEAD"],
          [HttpClientRequest.put("/api/content/intro-to-defi"), "GET, HEAD"],
          [HttpClientRequest.get("/api/auth/verify"), "POST"],
          [HttpClientRequest.put("/api/session/start"), "GET, HEAD, POST"],
          [HttpClientRequest.patch("/api/session/session_lx7g2h_a1b2c3d4"), "GET, HEAD"],
          [HttpClientRequest.post("/health").pipe(HttpClientRequest.bodyUnsafeJson({})), "GET, HEAD"],
          [HttpClientRequest.del("/openapi.json"), "GET, HEAD"]
        ]
        for (const [request, allow] of cases) {
          const res = yield* http.execute(request)
          expect(res.status, `${request.method} ${request.url}`).toBe(405)
          expect(res.headers["allow"]).toBe(allow)
          expect(yield* res.json).toEqual({ ...seedError, error: "Method Not Allowed", statusCode: 405, message: expect.stringContaining(allow) })
        }
        // an unknown path stays 404, and what Allow names is allowed
        expect((yield* http.execute(HttpClientRequest.del("/api/nope"))).status).toBe(404)
        expect((yield* http.execute(HttpClientRequest.head("/api/content"))).status).toBe(200)
      }))

    it.effect("a start the balance cannot cover is refused with the amounts in USDC as well as in units", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const res = yield* http.execute(
          HttpClientRequest.post("/api/session/start").pipe(
            HttpClientRequest.bodyUnsafeJson({ userAddress: randomAddress(), contentId: "intro-to-defi" })
          )
        )
        expect(res.status).toBe(400)
        expect(yield* res.json).toEqual({
          ...seedError,
          error: "Bad Request",
          statusCode: 400,
          message: expect.stringContaining("up to 10.00 USDC (10000000) but only 0.00 USDC (0) is spendable")
        })
      }))

    it.effect("malformed JSON is a 400 in the seed's error format, never the raw decode error", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const res = yield* http.execute(
          HttpClientRequest.post("/api/session/start").pipe(HttpClientRequest.bodyText('{"userAddress": ', "application/json"))
        )
        expect(res.status).toBe(400)
        const body = yield* res.json
        expect(body).toEqual({ ...seedError, error: "Bad Request", statusCode: 400 })
        expect(JSON.stringify(body)).not.toMatch(/_tag|issues|HttpApiDecodeError/)
      }))

    it.effect("a deeply nested JSON body is a 400 before it reaches a schema (no stack overflow)", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const deep = `{"userAddress":${"[".repeat(5000)}${"]".repeat(5000)},"contentId":"intro-to-defi"}`
        const res = yield* http.execute(HttpClientRequest.post("/api/session/start").pipe(HttpClientRequest.bodyText(deep, "application/json")))
        expect(res.status).toBe(400)
        expect(yield* res.json).toEqual({ ...seedError, error: "Bad Request", statusCode: 400, message: expect.stringContaining("nested deeper") })
      }))

    it.effect("a body that is not JSON is a 415 in the seed's error format", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        for (const type of ["multipart/form-data", "text/plain", "application/x-www-form-urlencoded"]) {
          const res = yield* http.execute(
            HttpClientRequest.post("/api/session/start").pipe(HttpClientRequest.bodyText('{"userAddress":"0x1","contentId":"a"}', type))
          )
          expect(res.status).toBe(415)
          expect(yield* res.json).toEqual({ ...seedError, error: "Unsupported Media Type", statusCode: 415 })
        }
      }))

    it("JSON depth is counted without parsing, ignoring brackets inside strings", () => {
      expect(jsonDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3)
      expect(jsonDepth(String.raw`"\\"[`)).toBe(1) // an escaped backslash ends the string before the bracket
      expect(jsonDepth(String.raw`"\"["`)).toBe(0) // an escaped quote does not
      expect(jsonDepth("[]")).toBe(1)
      expect(jsonDepth("1")).toBe(0)
    })

    it.effect("the OpenAPI document and the docs page are served", () =>
      Effect.gen(function* () {
        const http = yield* HttpClient.HttpClient
        const spec = yield* Effect.flatMap(http.get("/openapi.json"), (r) => r.json)
        expect(spec).toMatchObject({ openapi: expect.stringMatching(/^3\./), paths: expect.objectContaining({ "/health": expect.anything() }) })
        const docs = yield* http.get("/docs")
        expect(docs.status).toBe(200)
        expect(yield* docs.text).toMatch(/swagger/i)
      }))
  })

  /**
   * The two hottest reads go through the one request path every route takes (the router and the
   * HTTP pipeline): compressed as the client asks, with the origin's CORS headers and the request's
   * id, and counted in the metrics under their route templates.
   */
  it.layer(IsolatedApp({ CORS_ORIGIN: "http://localhost:3000" }), { timeout: 120_000 })((it) => {
    const fetchFrom = (port: number, url: string, headers: Record<string, string>) =>
      Effect.promise(async () => {
        const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers })
        const body: unknown = JSON.parse(await res.text())
        return { status: res.status, headers: Object.fromEntries(res.headers), body }
      })
    const itemsOf = (body: unknown) => (typeof body === "object" && body !== null && "data" in body ? body.data : undefined)

    it.effect("GET /api/content and GET /api/session/:id: compression, CORS, X-Request-Id and metrics on the router's path", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const plain = yield* fetchFrom(port, "/api/content", { "accept-encoding": "identity" })
        expect(plain.status).toBe(200)
        expect(plain.headers["content-encoding"]).toBeUndefined()
        for (const encoding of ["gzip", "br"]) {
          const compressed = yield* fetchFrom(port, "/api/content", { "accept-encoding": encoding, origin: "http://localhost:3000" })
          expect(compressed.headers["content-encoding"]).toBe(encoding)
          expect(compressed.headers["vary"]).toMatch(/Accept-Encoding/)
          expect(compressed.headers["vary"]).toMatch(/Origin/)
          expect(compressed.headers["access-control-allow-origin"]).toBe("http://localhost:3000")
          expect(itemsOf(compressed.body)).toStrictEqual(itemsOf(plain.body))
        }

        const user = yield* fundedViewer()
        const start = yield* postJson("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })
        expect(start.status).toBe(201)
        const sessionId = dataField({ status: start.status, headers: {}, body: start.body }, "sessionId")
        const detail = yield* fetchFrom(port, `/api/session/${sessionId}?userAddress=${user}`, { "x-request-id": "read-1", origin: "http://localhost:3000" })
        expect(detail.status).toBe(200)
        expect(detail.headers["x-request-id"]).toBe("read-1")
        expect(detail.headers["access-control-allow-origin"]).toBe("http://localhost:3000")
        expect(detail.body).toMatchObject({ success: true, data: { sessionId, status: "ACTIVE" } })

        const http = yield* HttpClient.HttpClient
        const metrics = yield* http.get("/metrics")
        const text = yield* metrics.text
        expect(text).toMatch(/http_requests_total\{[^}]*route="\/api\/content"[^}]*status="200"[^}]*\} \d+/)
        expect(text).toMatch(/http_requests_total\{[^}]*route="\/api\/session\/:sessionId"[^}]*status="200"[^}]*\} \d+/)
      }))
  })
})
