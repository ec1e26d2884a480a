import { Duration, Effect, Metric, MetricBoundaries, MetricKey, MetricLabel } from "effect"

/**
 * The application's metrics (Effect `Metric`s in the global registry), rendered in Prometheus text
 * at /metrics when ENABLE_METRICS. Features increment the business counters where things happen:
 *
 *   yield* Metric.increment(sessionsStarted)
 *   yield* chain.settle(request).pipe(trackChainCall("settle"))
 *
 * Each is registered when this module loads, so /metrics shows it (at 0) before its first event.
 */

export const sessionsStarted = Metric.counter("payg_sessions_started_total", {
  description: "Sessions started",
  incremental: true
}).register()

export const sessionsStopped = Metric.counter("payg_sessions_stopped_total", {
  description: "Sessions stopped (by the viewer or the idle sweeper)",
  incremental: true
}).register()

export const settlementsSent = Metric.counter("payg_settlements_sent_total", {
  description: "Settlement transactions sent to the chain",
  incremental: true
}).register()

export const settlementsConfirmed = Metric.counter("payg_settlements_confirmed_total", {
  description: "Settlements confirmed on chain",
  incremental: true
}).register()

export const settlementsFailed = Metric.counter("payg_settlements_failed_total", {
  description: "Settlements that can never succeed (the session ends FAILED)",
  incremental: true
}).register()

export const settlementDebts = Metric.counter("payg_settlement_debts_total", {
  description: "Settlements the chain refused for lack of funds or allowance, kept as debts (the session is UNPAID)",
  incremental: true
}).register()

export const settlementDebtsPaid = Metric.counter("payg_settlement_debts_paid_total", {
  description: "Debts settled on chain once the viewer's funds or allowance returned",
  incremental: true
}).register()

/** Seconds per call to the chain; tag it with the call's name (see `trackChainCall`). */
const chainCallLatency = Metric.histogram(
  "payg_chain_call_duration_seconds",
  MetricBoundaries.fromIterable([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]),
  "Latency of calls to the chain, in seconds"
).register()

/** Records the duration of `effect` (success or failure) in `chainCallLatency`, labelled `call`. */
export const trackChainCall =
  (call: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Metric.trackDurationWith(effect, Metric.tagged(chainCallLatency, "call", call), Duration.toSeconds)

// ---------------------------------------------------------------------------------------------
// HTTP: requests and latency per method, route (the route template, never the raw URL) and status

const httpRequestsName = "http_requests_total"
const httpDurationName = "http_request_duration_seconds"
const httpBoundaries = MetricBoundaries.fromIterable([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])

export const rateLimitedRequests = Metric.counter("http_requests_rate_limited_total", {
  description: "Requests refused with 429 by the rate limiter",
  incremental: true
}).register()

const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []

interface RouteMetrics {
  readonly requests: Metric.Metric.Counter<number>
  readonly duration: Metric.Metric.Histogram<number>
}

/**
 * Records one request. The tagged metrics are built once per (method, route, status) and cached, so
 * the hot path is a map lookup and two in-place updates (no key hashing, no effect to run).
 */
export const makeHttpMetrics = () => {
  const cache = new Map<string, RouteMetrics>()
  const metricsFor = (method: string, route: string, status: number): RouteMetrics => {
    const key = `${method} ${status} ${route}`
    const cached = cache.get(key)
    if (cached !== undefined) return cached
    const labels = [MetricLabel.make("method", method), MetricLabel.make("route", route), MetricLabel.make("status", String(status))]
    const made: RouteMetrics = {
      requests: Metric.fromMetricKey(
        MetricKey.taggedWithLabels(MetricKey.counter(httpRequestsName, { description: "HTTP requests served", incremental: true }), labels)
      ),
      duration: Metric.fromMetricKey(
        MetricKey.taggedWithLabels(MetricKey.histogram(httpDurationName, httpBoundaries, "HTTP request duration in seconds"), labels)
      )
    }
    cache.set(key, made)
    return made
  }
  return {
    record: (method: string, route: string, status: number, seconds: number): void => {
      const m = metricsFor(method, route, status)
      m.requests.unsafeUpdate(1, noTags)
      m.duration.unsafeUpdate(seconds, noTags)
    }
  }
}
