/** Nearest-rank percentile of unsorted samples (0 when there are none). */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? 0
}

export interface Latency {
  readonly count: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

/** Milliseconds, rounded to microseconds. */
export const latencyOf = (samples: ReadonlyArray<number>): Latency => {
  const sorted = Float64Array.from(samples).sort()
  const arr = Array.from(sorted)
  const r = (x: number) => Math.round(x * 1000) / 1000
  const sum = arr.reduce((a, b) => a + b, 0)
  return {
    count: arr.length,
    p50: r(percentile(arr, 50)),
    p95: r(percentile(arr, 95)),
    p99: r(percentile(arr, 99)),
    max: r(arr[arr.length - 1] ?? 0),
    mean: r(arr.length === 0 ? 0 : sum / arr.length)
  }
}

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export const median = (xs: ReadonlyArray<number>): number => percentile([...xs].sort((a, b) => a - b), 50)
