import { describe, expect, it } from "@effect/vitest"
import { makeRouteTemplate, serverRoutes } from "../src/http/Routes.js"

describe("route templates (the log line's and the metrics' route label)", () => {
  const routeOf = makeRouteTemplate(serverRoutes(true))

  it("a parameter route by its template, whatever the query", () => {
    expect(routeOf("GET", "/api/session/session_abc_12345678?userAddress=0x00")).toBe("/api/session/:sessionId")
    expect(routeOf("GET", "/api/content?limit=5")).toBe("/api/content")
  })

  it("a literal route wins over a parameter route of the same method, and the method picks the route", () => {
    expect(routeOf("POST", "/api/session/start")).toBe("/api/session/start")
    expect(routeOf("GET", "/api/session/start")).toBe("/api/session/:sessionId")
  })

  it("HEAD by the GET route; the routes outside the HttpApi too", () => {
    expect(routeOf("HEAD", "/api/content")).toBe("/api/content")
    expect(routeOf("GET", "/metrics")).toBe("/metrics")
    expect(routeOf("GET", "/openapi.json")).toBe("/openapi.json")
  })

  it("unmatched: an unknown path, another method on a known path, another case", () => {
    expect(routeOf("GET", "/nowhere")).toBe("unmatched")
    expect(routeOf("DELETE", "/api/content")).toBe("unmatched")
    expect(routeOf("GET", "/API/content")).toBe("unmatched")
  })

  it("/metrics is no route when metrics are off", () => {
    expect(makeRouteTemplate(serverRoutes(false))("GET", "/metrics")).toBe("unmatched")
  })
})
