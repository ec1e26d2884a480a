import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { WATCH_CSP } from "../src/watch/Static.js"
import { TestApp } from "./support/app.js"
import { getJson } from "./support/http.js"
import { IsolatedApp, TEST_JWT_SECRET } from "./support/security.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const fetchRaw = (path: string, headers: Record<string, string> = {}, method: "GET" | "POST" = "GET") =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http.execute(HttpClientRequest.make(method)(path, { headers })).pipe(
      Effect.flatMap((res) => Effect.map(res.text, (body) => ({ status: res.status, headers: res.headers, body }))),
      Effect.scoped
    )
  )

describe("the watch page's files and settings", () => {
  it.layer(IsolatedApp({}), { timeout: 120_000 })((it) => {
    it.effect("/watch is the page, with its content types, revalidation and a self-only CSP", () =>
      Effect.gen(function* () {
        const page = yield* fetchRaw("/watch")
        expect(page.status).toBe(200)
        expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
        expect(page.headers["cache-control"]).toBe("no-cache")
        expect(page.headers["content-security-policy"]).toBe(WATCH_CSP)
        expect(WATCH_CSP).not.toMatch(/unsafe|https:|\*/)
        expect(page.headers["x-content-type-options"]).toBe("nosniff")
        expect(page.body).toContain('<script type="module" src="/watch/app.js"></script>')

        const script = yield* fetchRaw("/watch/app.js")
        expect(script.status).toBe(200)
        expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8")
        const style = yield* fetchRaw("/watch/style.css")
        expect(style.headers["content-type"]).toBe("text/css; charset=utf-8")

        const etag = script.headers["etag"] ?? ""
        expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/)
        const again = yield* fetchRaw("/watch/app.js", { "if-none-match": etag })
        expect(again.status).toBe(304)
        expect(again.body).toBe("")
      }))

    it.effect("unknown files are 404 and other methods 405, in the seed's error format", () =>
      Effect.gen(function* () {
        const missing = yield* fetchRaw("/watch/secrets.env")
        expect(missing.status).toBe(404)
        expect(JSON.parse(missing.body)).toMatchObject({ error: "Not Found", statusCode: 404 })
        const traversal = yield* fetchRaw("/watch/..%2Fpackage.json")
        expect(traversal.status).toBe(404)
        const post = yield* fetchRaw("/watch", { "content-type": "application/json" }, "POST")
        expect(post.status).toBe(405)
        expect(post.headers["allow"]).toBe("GET, HEAD")
      }))

    it.effect("/api/watch/config names the demo viewers on the development chain; /watch is not an API operation", () =>
      Effect.gen(function* () {
        const config = yield* getJson("/api/watch/config")
        expect(config.status).toBe(200)
        expect(config.body).toMatchObject({
          success: true,
          data: {
            authRequired: false,
            authorizationRequired: false,
            chainId: 31337,
            heartbeatEvery: 10,
            heartbeatGrace: 30,
            // the seed's viewer and Hardhat's accounts #1 to #5, checksummed
            demoViewers: [
              "0x742C4B0f8E6cd2e0B35E8EF6Dbc66F5c6D4B9e8A",
              "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
              expect.any(String),
              expect.any(String),
              expect.any(String),
              expect.any(String)
            ]
          }
        })
        const doc = yield* getJson("/openapi.json")
        const paths = isRecord(doc.body) && isRecord(doc.body["paths"]) ? Object.keys(doc.body["paths"]) : []
        expect(paths).toContain("/api/watch/config")
        expect(paths).toContain("/api/session/heartbeat")
        expect(paths.filter((p) => p.startsWith("/watch"))).toEqual([])
      }))
  })

  it.layer(IsolatedApp({ AUTH_REQUIRED: "true", JWT_SECRET: TEST_JWT_SECRET }), { timeout: 120_000 })((it) => {
    it.effect("with auth required the page is told to sign in and gets no viewers to pick", () =>
      Effect.gen(function* () {
        const config = yield* getJson("/api/watch/config")
        expect(config.body).toMatchObject({ data: { authRequired: true, authorizationRequired: false, demoViewers: [] } })
      }))
  })

  it.layer(Layer.fresh(TestApp({ AUTH_REQUIRED: "true", JWT_SECRET: TEST_JWT_SECRET }, { requireAuthorization: true })), { timeout: 120_000 })((it) => {
    it.effect("on a wallet that settles only signed sessions the page is told to have each session signed, as /api/status says", () =>
      Effect.gen(function* () {
        const config = yield* getJson("/api/watch/config")
        expect(config.body).toMatchObject({ data: { authRequired: true, authorizationRequired: true, demoViewers: [] } })
        const status = yield* getJson("/api/status")
        expect(status.body).toMatchObject({ authorizationRequired: true })
      }))
  })
})
