import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Metric } from "effect"
import { AppConfig } from "../config.js"
import { contentType, render } from "./Prometheus.js"

export const METRICS_PATH = "/metrics"

const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident set size in bytes" })
const heapUsed = Metric.gauge("nodejs_heap_used_bytes", { description: "V8 heap in use, in bytes" })
const uptime = Metric.gauge("process_uptime_seconds", { description: "Seconds since the process started" })

/** Process gauges are read when scraped: nothing runs between scrapes. */
const sampleProcess = Effect.suspend(() => {
  const memory = process.memoryUsage()
  return Effect.all([Metric.set(residentMemory, memory.rss), Metric.set(heapUsed, memory.heapUsed), Metric.set(uptime, process.uptime())], {
    discard: true
  })
})

const scrape = Effect.zipRight(sampleProcess, Metric.snapshot).pipe(
  Effect.map((pairs) => HttpServerResponse.text(render(pairs), { contentType, headers: { "cache-control": "no-store" } }))
)

/**
 * GET /metrics in Prometheus text when ENABLE_METRICS (not part of the OpenAPI document).
 * Without it the route does not exist (404).
 */
export const MetricsRouteLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    config.enableMetrics ? HttpApiBuilder.Router.use((router) => router.get(METRICS_PATH, scrape)) : Layer.empty
  )
)
