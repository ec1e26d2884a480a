import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { AppConfig, AppConfigSchema, authRequired, describeConfigError } from "../src/config.js"

const load = (vars: Record<string, string>) =>
  Effect.either(Effect.withConfigProvider(AppConfigSchema, ConfigProvider.fromMap(new Map(Object.entries(vars)))))

describe("configuration", () => {
  it.effect("reads the seed's defaults when nothing is set", () =>
    Effect.gen(function* () {
      const c = yield* Effect.flatten(load({}))
      expect(c.port).toBe(3001)
      expect(c.nodeEnv).toBe("development")
      expect(Option.isNone(c.database.url)).toBe(true)
      expect(c.security.rateLimitWindowMs).toBe(900_000)
      expect(c.security.rateLimitMaxRequests).toBe(100)
      expect(c.security.corsOrigin).toEqual(["http://localhost:3000"])
      expect(c.security.enableHelmet && c.security.enableCompression && c.enableMetrics).toBe(true)
      expect(authRequired(c)).toBe(false)
    }))

  it.effect("a bad PORT names the variable", () =>
    Effect.gen(function* () {
      const r = yield* load({ PORT: "abc" })
      expect(Either.isLeft(r)).toBe(true)
      if (Either.isLeft(r)) expect(describeConfigError(r.left)).toMatch(/^PORT: /)
    }))

  it.effect("a malformed DATABASE_URL names the variable and never echoes the value", () =>
    Effect.gen(function* () {
      const r = yield* load({ DATABASE_URL: "mysql://user:hunter2@db/x" })
      expect(Either.isLeft(r)).toBe(true)
      if (Either.isLeft(r)) {
        const line = describeConfigError(r.left)
        expect(line).toMatch(/^DATABASE_URL: must be a postgres/)
        expect(line).not.toContain("hunter2")
      }
    }))

  it.effect("secrets are redacted when printed", () =>
    Effect.gen(function* () {
      const c = yield* Effect.flatten(load({ JWT_SECRET: "s3cret-value", DATABASE_URL: "postgres://u:pw@localhost/db" }))
      const secret = Option.getOrThrow(c.security.jwtSecret)
      expect(Redacted.value(secret)).toBe("s3cret-value")
      expect(String(secret)).not.toContain("s3cret")
      expect(JSON.stringify(c)).not.toContain("s3cret")
      expect(JSON.stringify(c)).not.toContain("pw@")
    }))

  it.effect("production requires auth unless AUTH_REQUIRED says otherwise", () =>
    Effect.gen(function* () {
      expect(authRequired(yield* Effect.flatten(load({ NODE_ENV: "production" })))).toBe(true)
      expect(authRequired(yield* Effect.flatten(load({ NODE_ENV: "production", AUTH_REQUIRED: "false" })))).toBe(false)
      expect(authRequired(yield* Effect.flatten(load({ AUTH_REQUIRED: "true" })))).toBe(true)
    }))

  it.effect("AppConfig.layer fails on a bad value", () =>
    Effect.gen(function* () {
      const r = yield* Effect.either(
        Layer.build(AppConfig.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["RATE_LIMIT_MAX_REQUESTS", "-1"]]))))))
      )
      expect(Either.isLeft(r)).toBe(true)
    }).pipe(Effect.scoped))

  it("the server refuses to start on a bad value with one clear line and no stack trace", () => {
    for (const [name, value, pattern] of [
      ["PORT", "abc", /^payg: invalid configuration: PORT: /],
      ["DATABASE_URL", "not a url", /^payg: invalid configuration: DATABASE_URL: must be a postgres/]
    ] as const) {
      const run = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
        env: { PATH: process.env.PATH ?? "", [name]: value },
        encoding: "utf8",
        timeout: 60_000
      })
      expect(run.status).toBe(1)
      const lines = run.stderr.trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(pattern)
      expect(run.stderr).not.toMatch(/\n\s+at /)
    }
  })
})
