import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { type Context, Effect, Layer, Metric } from "effect"
import { AppConfig } from "../config.js"
import { PgPool } from "../db/Database.js"
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

const poolConnections = Metric.gauge("payg_db_pool_connections", { description: "Database pool connections, by state" })
const poolTotal = Metric.tagged(poolConnections, "state", "total")
const poolIdle = Metric.tagged(poolConnections, "state", "idle")
const poolWaiting = Metric.tagged(poolConnections, "state", "waiting")

/** Database pool usage, read from the pool when scraped. */
const samplePool = (pool: Context.Tag.Service<PgPool>) =>
  Effect.all([Metric.set(poolTotal, pool.totalCount), Metric.set(poolIdle, pool.idleCount), Metric.set(poolWaiting, pool.waitingCount)], {
    discard: true
  })

const scrape = (pool: Context.Tag.Service<PgPool>) =>
  Effect.zipRight(Effect.zipRight(sampleProcess, samplePool(pool)), Metric.snapshot).pipe(
    Effect.map((pairs) => HttpServerResponse.text(render(pairs), { contentType, headers: { "cache-control": "no-store" } }))
  )

/**
 * GET /metrics in Prometheus text when ENABLE_METRICS (not part of the OpenAPI document).
 * Without it the route does not exist (404).
 */
export const MetricsRouteLive = Layer.unwrapEffect(
  Effect.map(Effect.all([AppConfig, PgPool]), ([config, pool]) =>
    config.enableMetrics ? HttpApiBuilder.Router.use((router) => router.get(METRICS_PATH, scrape(pool))) : Layer.empty
  )
)
