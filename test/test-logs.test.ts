import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { vi } from "vitest"
import { IsolatedApp, get, postJson } from "./support/security.js"

/**
 * What a test app prints on the console while it starts, answers a few requests (a success, a 404, a
 * 400) and stops, with TEST_LOG_LEVEL set to `level` (or unset) for the while.
 */
const printedWith = (level: string | undefined) =>
  Effect.gen(function* () {
    const before = process.env["TEST_LOG_LEVEL"]
    const printed: Array<string> = []
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        if (level === undefined) delete process.env["TEST_LOG_LEVEL"]
        else process.env["TEST_LOG_LEVEL"] = level
        return vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
          printed.push(args.map(String).join(" "))
        })
      }),
      (spy) =>
        Effect.sync(() => {
          spy.mockRestore()
          if (before === undefined) delete process.env["TEST_LOG_LEVEL"]
          else process.env["TEST_LOG_LEVEL"] = before
        })
    )
    yield* Effect.scoped(
      Effect.flatMap(Layer.build(IsolatedApp({})), (context) =>
        Effect.provide(
          Effect.all([get("/api/content"), get("/api/nothing-here"), postJson("/api/session/start", { contentId: "intro-to-defi" })]),
          context
        )
      )
    )
    return printed
  }).pipe(Effect.scoped)

describe("test logs", () => {
  // it.live: the console logger is the real one here (it.effect would remove it and hide the question)
  it.live("a test app prints nothing by default", () =>
    Effect.gen(function* () {
      expect(yield* printedWith(undefined)).toEqual([])
    }), 120_000)

  it.live("TEST_LOG_LEVEL=info prints the request lines again", () =>
    Effect.gen(function* () {
      const printed = yield* printedWith("info")
      expect(printed.some((l) => l.includes('message="http request"') && l.includes("status=404"))).toBe(true)
    }), 120_000)
})
