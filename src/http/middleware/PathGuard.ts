import { HttpServerRequest } from "@effect/platform"
import { Context, Effect } from "effect"
import { seedResponse } from "../errors.js"
import type { Stage } from "./Middleware.js"

/**
 * A `;` in the path is a 404 before any routing. The platform's router (find-my-way) reads `;` as the
 * start of a query string, as some old servers did (`/foo;jsessionid=1`), so `/api/content/;x` would be
 * answered as `/api/content/`: the list, for a path that names no route. No route of ours has a `;`.
 */
export const pathGuard: Stage = {
  around: (app) =>
    Effect.withFiberRuntime((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const path = request.url.split("?")[0] ?? "/"
      // the same answer as the router's for a path it does not know (seedErrors.ts)
      return path.includes(";") ? seedResponse(404, `no route for ${request.method} ${path}`) : app
    })
}
