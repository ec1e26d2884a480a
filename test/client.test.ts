import { FetchHttpClient, HttpServer } from "@effect/platform"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { makePaygClient } from "../src/client.js"
import { AddressFromString } from "../src/domain/Address.js"
import { ContentId } from "../src/domain/Content.js"
import { IsolatedApp, TEST_JWT_SECRET, alice } from "./support/security.js"

/** Modules a browser bundle must not pull in: Node built-ins and the server's adapters. */
const serverOnly = [/^node:/, /^pg$/, /^@effect\/sql/, /^@effect\/platform-node/, /^@electric-sql\//, /^ioredis$/, /^jose$/, /^hardhat/, /^viem\/(node|accounts)/]

/** The modules `file` imports at run time (type-only imports are erased and skipped). */
const runtimeImports = (file: string): ReadonlyArray<string> => {
  const text = readFileSync(file, "utf8")
  const found: Array<string> = []
  for (const m of text.matchAll(/^(import|export)\s+([^;]*?)\s+from\s+"([^"]+)"/gms)) {
    const clause = m[2] ?? ""
    const specifier = m[3] ?? ""
    const typeOnly = /^type\s/.test(clause) || /^\{\s*(type\s+[^,}]+,?\s*)+\}$/.test(clause)
    if (!typeOnly) found.push(specifier)
  }
  for (const m of text.matchAll(/^import\s+"([^"]+)"/gm)) found.push(m[1] ?? "")
  return found
}

/** Every module reachable from `entry` at run time: our files by path, packages by name. */
const importGraph = (entry: string) => {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string): void => {
    if (files.has(file)) return
    files.add(file)
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")))
      else packages.add(specifier)
    }
  }
  visit(resolve(entry))
  return { files: [...files], packages: [...packages] }
}

describe("the typed client (src/client.ts)", () => {
  it("imports no server code: a browser bundle can take it", () => {
    const graph = importGraph("src/client.ts")
    expect(graph.files.some((f) => f.endsWith("src/Api.ts"))).toBe(true)
    for (const name of graph.packages) expect(serverOnly.some((p) => p.test(name)), name).toBe(false)
    const serverDirs = ["/src/db/", "/src/chain/", "/src/session/Sessions", "/src/session/SessionRepo", "/src/http/Server", "/src/http/Pipeline"]
    for (const file of graph.files) expect(serverDirs.some((d) => file.includes(d)), file).toBe(false)
    // the walk does see imports: the server's entry reaches PostgreSQL
    expect(importGraph("src/main.ts").packages.some((p) => p.startsWith("@effect/sql"))).toBe(true)
  })

  layer(IsolatedApp({ JWT_SECRET: TEST_JWT_SECRET }), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("against the real server over fetch: typed answers, and each endpoint's declared errors as typed failures", () =>
      Effect.gen(function* () {
        const server = yield* HttpServer.HttpServer
        const address = server.address
        if (address._tag !== "TcpAddress") throw new Error("the test server listens on TCP")
        const user = Schema.decodeSync(AddressFromString)(alice.address)
        const item = Schema.decodeSync(ContentId)("intro-to-defi")
        const client = yield* makePaygClient(`http://127.0.0.1:${address.port}`)

        const page = yield* client.content.list({ urlParams: { limit: 2 } })
        expect(page.data).toHaveLength(2)
        expect(typeof page.data[0]?.fullPrice).toBe("bigint")
        expect(page.data[0]?.createdAt).toBeInstanceOf(Date)

        const missing = yield* Effect.flip(client.content.get({ path: { contentId: Schema.decodeSync(ContentId)("no-such-content") } }))
        expect(missing._tag).toBe("NotFound")

        const started = yield* client.session.start({ payload: { userAddress: user, contentId: item } })
        expect(started.data.status).toBe("active")
        const again = yield* Effect.flip(client.session.start({ payload: { userAddress: user, contentId: item } }))
        expect(again._tag).toBe("Conflict")
        const stats = yield* client.user.stats({ path: { userAddress: user } })
        expect(stats.data.totalSessions).toBeGreaterThanOrEqual(1)
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
})
