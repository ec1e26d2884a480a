/** The payg API on this page's origin: requests with the viewer's token, answers unwrapped. */

/** A refused request: the status, the server's message, and Retry-After (seconds) when it gave one. */
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message)
    this.status = status
    this.retryAfter = retryAfter
  }
}

let token = null

/** The sign-in token sent as `Authorization: Bearer` from now on (null: none). */
export const setToken = (value) => {
  token = value
}

/** The headers that carry the sign-in token, for requests made without `api` (the event stream). */
export const authHeaders = () => (token === null ? {} : { authorization: `Bearer ${token}` })

/**
 * Calls `path` with an optional JSON body. Resolves to the status, the envelope's `data` and
 * `nextCursor`; rejects with an ApiError carrying the seed error's `message`.
 */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" }
  if (body !== undefined) headers["content-type"] = "application/json"
  if (token !== null) headers.authorization = `Bearer ${token}`
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const json = await response.json().catch(() => null)
  if (!response.ok) {
    const retryAfter = Number(response.headers.get("retry-after") ?? "0")
    throw new ApiError(response.status, json?.message ?? `${response.status} ${response.statusText}`, retryAfter)
  }
  return { status: response.status, data: json?.data, nextCursor: json?.nextCursor ?? null }
}
