import { type MetricLabel, type MetricPair, MetricState, Option } from "effect"

/**
 * Effect metrics in the Prometheus text exposition format (version 0.0.4):
 * counters, gauges, histograms (`_bucket` with cumulative `le` buckets ending at `+Inf`, `_sum`,
 * `_count`), summaries (`quantile`, `_sum`, `_count`) and frequencies (a counter per value, label `key`).
 * One `# HELP`/`# TYPE` per metric name, every series of a name together, label values escaped.
 */

export const contentType = "text/plain; version=0.0.4; charset=utf-8"

type Kind = "counter" | "gauge" | "histogram" | "summary"

const invalidNameChars = /[^a-zA-Z0-9_:]/g
const invalidLabelChars = /[^a-zA-Z0-9_]/g
const leadingDigit = /^[0-9]/

export const metricName = (name: string): string => {
  const cleaned = name.replace(invalidNameChars, "_")
  return leadingDigit.test(cleaned) || cleaned.length === 0 ? `_${cleaned}` : cleaned
}

const labelName = (name: string): string => {
  const cleaned = name.replace(invalidLabelChars, "_")
  const safe = leadingDigit.test(cleaned) || cleaned.length === 0 ? `_${cleaned}` : cleaned
  // names starting with __ are reserved for Prometheus itself
  return safe.startsWith("__") ? `x${safe}` : safe
}

/** Label values: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/** HELP text: backslash and line feed escaped. */
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const labelsText = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

interface Family {
  readonly kind: Kind
  help: string | undefined
  readonly lines: Array<string>
}

export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  const familyFor = (name: string, kind: Kind, help: Option.Option<string>): Family | undefined => {
    const existing = families.get(name)
    if (existing !== undefined) {
      if (existing.help === undefined) existing.help = Option.getOrUndefined(help)
      // two metrics of different types under one name cannot both be exposed: the first one wins
      return existing.kind === kind ? existing : undefined
    }
    const made: Family = { kind, help: Option.getOrUndefined(help), lines: [] }
    families.set(name, made)
    return made
  }

  for (const pair of pairs) {
    const key = pair.metricKey
    const state: unknown = pair.metricState
    const name = metricName(key.name)
    const labels = key.tags.map((t: MetricLabel.MetricLabel): readonly [string, string] => [labelName(t.key), t.value])
    const sample = (suffix: string, extra: ReadonlyArray<readonly [string, string]>, value: number | bigint) =>
      `${name}${suffix}${labelsText([...labels, ...extra])} ${formatValue(value)}`

    if (MetricState.isCounterState(state)) {
      familyFor(name, "counter", key.description)?.lines.push(sample("", [], state.count))
    } else if (MetricState.isGaugeState(state)) {
      familyFor(name, "gauge", key.description)?.lines.push(sample("", [], state.value))
    } else if (MetricState.isHistogramState(state)) {
      const family = familyFor(name, "histogram", key.description)
      if (family === undefined) continue
      let sawInfinity = false
      for (const [boundary, cumulative] of state.buckets) {
        if (boundary === Number.POSITIVE_INFINITY) sawInfinity = true
        family.lines.push(sample("_bucket", [["le", formatValue(boundary)]], cumulative))
      }
      if (!sawInfinity) family.lines.push(sample("_bucket", [["le", "+Inf"]], state.count))
      family.lines.push(sample("_sum", [], state.sum), sample("_count", [], state.count))
    } else if (MetricState.isSummaryState(state)) {
      const family = familyFor(name, "summary", key.description)
      if (family === undefined) continue
      for (const [quantile, value] of state.quantiles) {
        family.lines.push(sample("", [["quantile", formatValue(quantile)]], Option.getOrElse(value, () => Number.NaN)))
      }
      family.lines.push(sample("_sum", [], state.sum), sample("_count", [], state.count))
    } else if (MetricState.isFrequencyState(state)) {
      const family = familyFor(name, "counter", key.description)
      if (family === undefined) continue
      for (const [value, count] of state.occurrences) family.lines.push(sample("", [["key", value]], count))
    }
  }

  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)
    if (family === undefined || family.lines.length === 0) continue
    if (family.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${name} ${family.kind}`, ...family.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
