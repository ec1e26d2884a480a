import { Headers } from "@effect/platform"
import { helmetDocsHeaders, helmetHeaders, isDocsUrl } from "../Security.js"
import { isPreflight } from "./Cors.js"
import type { Stage } from "./Middleware.js"

const api = Headers.unsafeFromRecord(helmetHeaders)
const docs = Headers.unsafeFromRecord(helmetDocsHeaders)

/**
 * ENABLE_HELMET: helmet's headers on every answer but a CORS preflight's (answered before this stage),
 * the docs page's CSP letting its inline script run. The handler's own headers win.
 */
export const securityHeaders: Stage = {
  headers: (request, headers) => (isPreflight(request) ? headers : Headers.merge(isDocsUrl(request.url) ? docs : api, headers))
}
