/**
 * What the generated OpenAPI document cannot know from the endpoints alone, added in one pass over it
 * (the `OpenApi.Transform` of PaygApi): the headers every response carries (X-Request-Id, the
 * rate-limit headers), the answers the HTTP pipeline gives before any handler runs (405 with Allow,
 * 413, 415, 429 with Retry-After, 503 on timeout), the Idempotency-Key request header of every POST
 * and its 409/422, and the 400 of a validation failure in the seed's format (the router's own decode
 * error never reaches the wire: see validation.ts). Pure data: safe in a browser bundle.
 */

type Json = Record<string, unknown>

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const seedErrorSchema = (label: string, status: number): Json => ({
  type: "object",
  required: ["error", "message", "statusCode", "timestamp"],
  properties: {
    error: { type: "string", enum: [label] },
    message: { type: "string" },
    statusCode: { type: "integer", enum: [status] },
    timestamp: { type: "string", format: "date-time" }
  },
  additionalProperties: false
})

const header = (description: string, schema: Json = { type: "string" }): Json => ({ description, schema })

const rateLimitHeaders: Json = {
  "RateLimit-Limit": header("Requests allowed per window for this client", { type: "integer" }),
  "RateLimit-Remaining": header("Requests left in the current window", { type: "integer" }),
  "RateLimit-Reset": header("Seconds until the window resets", { type: "integer" })
}

const commonHeaders: Json = {
  "X-Request-Id": header("The request's id: the client's X-Request-Id when it was a sane token, else a new UUID")
}

const retryAfter: Json = { "Retry-After": header("Seconds to wait before retrying", { type: "integer" }) }

const errorResponse = (status: number, label: string, description: string, headers: Json = {}): Json => ({
  description,
  headers: { ...commonHeaders, ...headers },
  content: { "application/json": { schema: seedErrorSchema(label, status) } }
})

const idempotencyKey: Json = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Makes a retry safe: the first answer is stored for 24 hours and replayed (with Idempotent-Replayed: true) for the same caller, method, path and body",
  schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" }
}

/** Example request bodies, by operation id. */
const requestExamples: Record<string, Json> = {
  "session.start": { userAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", contentId: "intro-to-defi" },
  "session.quote": { userAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", contentId: "intro-to-defi" },
  "session.pause": { sessionId: "session_lx7g2h_a1b2c3d4", userAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" },
  "session.resume": { sessionId: "session_lx7g2h_a1b2c3d4", userAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" },
  "session.stop": { sessionId: "session_lx7g2h_a1b2c3d4", userAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" },
  "auth.verify": { message: "localhost wants you to sign in with your Ethereum account: ...", signature: "0x..." },
  "adminContent.create": {
    contentId: "sintel",
    title: "Sintel",
    description: "An open movie by the Blender Foundation",
    fullPrice: "4000000",
    totalDuration: 888,
    category: "Film",
    creatorAddress: "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
  },
  "adminContent.update": { fullPrice: "6000000" },
  "session.heartbeat": { sessionId: "session_lx7g2h_a1b2c3d4", userAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }
}

const hasInput = (op: Json): boolean =>
  op["requestBody"] !== undefined || (Array.isArray(op["parameters"]) && op["parameters"].length > 0)

const documentOperation = (path: string, method: string, op: Json): Json => {
  const responses: Json = {}
  for (const [status, response] of Object.entries(isRecord(op["responses"]) ? op["responses"] : {})) {
    if (!isRecord(response)) continue
    // the decode error is answered in the seed's format, and only where there is input to decode
    if (status === "400") {
      if (!hasInput(op) && method === "get") continue
      responses[status] = errorResponse(400, "Bad Request", "Invalid input (a validation failure names the field), or a refusal of the request as given")
      continue
    }
    responses[status] = { ...response, headers: { ...commonHeaders, ...(path === "/health" ? {} : rateLimitHeaders), ...(status === "503" ? retryAfter : {}) } }
  }
  if (path !== "/health") responses["429"] = errorResponse(429, "Too Many Requests", "Over the client's rate limit", { ...rateLimitHeaders, ...retryAfter })
  if (responses["503"] === undefined) responses["503"] = errorResponse(503, "Service Unavailable", "The request did not complete within REQUEST_TIMEOUT")
  const parameters = Array.isArray(op["parameters"]) ? op["parameters"] : []
  if (method !== "post") return { ...op, parameters, responses }
  responses["409"] ??= errorResponse(409, "Conflict", "A request with this Idempotency-Key is still in progress", retryAfter)
  responses["413"] = errorResponse(413, "Payload Too Large", "The body exceeds BODY_LIMIT_BYTES")
  responses["415"] = errorResponse(415, "Unsupported Media Type", "The body is not application/json")
  responses["422"] = errorResponse(422, "Unprocessable Entity", "This Idempotency-Key was already used with a different request")
  const example = typeof op["operationId"] === "string" ? requestExamples[op["operationId"]] : undefined
  const body = isRecord(op["requestBody"]) ? op["requestBody"] : undefined
  const content = body !== undefined && isRecord(body["content"]) ? body["content"] : {}
  const json = isRecord(content["application/json"]) ? content["application/json"] : undefined
  const requestBody = body === undefined || json === undefined ? body : { ...body, content: { ...content, "application/json": { ...json, example } } }
  return { ...op, parameters: [...parameters, idempotencyKey], responses, ...(requestBody === undefined ? {} : { requestBody }) }
}

export const documentHttp = (spec: Json): Json => {
  const paths: Json = {}
  for (const [path, item] of Object.entries(isRecord(spec["paths"]) ? spec["paths"] : {})) {
    if (!isRecord(item)) continue
    paths[path] = Object.fromEntries(Object.entries(item).map(([method, op]) => [method, isRecord(op) ? documentOperation(path, method, op) : op]))
  }
  const components = isRecord(spec["components"]) ? spec["components"] : {}
  const unused = new Set(["HttpApiDecodeError", "Issue", "PropertyKey"])
  const schemas = Object.fromEntries(Object.entries(isRecord(components["schemas"]) ? components["schemas"] : {}).filter(([name]) => !unused.has(name)))
  const info = isRecord(spec["info"]) ? spec["info"] : {}
  return {
    ...spec,
    info: {
      ...info,
      description:
        "Every error is `{ error, message, statusCode, timestamp }`. A known path called with a method it does not have is 405 with `Allow` naming its methods (see components.responses.MethodNotAllowed). Every response carries X-Request-Id; rate-limited ones RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset."
    },
    paths,
    components: {
      ...components,
      schemas,
      responses: {
        ...(isRecord(components["responses"]) ? components["responses"] : {}),
        MethodNotAllowed: errorResponse(405, "Method Not Allowed", "The path exists, but not with this method", {
          Allow: header("The methods the path has, e.g. `GET, HEAD`")
        })
      }
    }
  }
}
