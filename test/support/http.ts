import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { expect } from "vitest"

export interface Answer {
  readonly status: number
  readonly body: unknown
}

/** POST a JSON body to the app under test; the status and the parsed body. */
export const postJson = (path: string, body: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUnsafeJson(body))).pipe(
      Effect.flatMap((res) => Effect.map(res.json, (json): Answer => ({ status: res.status, body: json }))),
      Effect.scoped
    )
  )

/** GET from the app under test; the status and the parsed body. */
export const getJson = (url: string) =>
  Effect.flatMap(HttpClient.HttpClient, (http) =>
    http.get(url).pipe(
      Effect.flatMap((res) => Effect.map(res.json, (json): Answer => ({ status: res.status, body: json }))),
      Effect.scoped
    )
  )

export const isoTimestamp = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)

/** The seed's error body for a status and its label (message: any string). */
export const seedErrorBody = (status: number, error: string) => ({
  error,
  message: expect.any(String),
  statusCode: status,
  timestamp: isoTimestamp
})
