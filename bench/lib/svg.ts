/**
 * A small SVG line-chart generator (no chart library): panels side by side, log2 x axis (concurrency),
 * log10 y axis (latency, ms), one polyline per series with point markers and a legend.
 */

export interface Series {
  readonly label: string
  readonly color: string
  /** SVG stroke-dasharray, e.g. "6 4" for p99 lines; empty for solid. */
  readonly dash: string
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number }>
}

export interface Panel {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xTicks: ReadonlyArray<number>
  readonly series: ReadonlyArray<Series>
  /** Horizontal reference lines (targets), drawn thin and grey with a label. */
  readonly references: ReadonlyArray<{ readonly y: number; readonly label: string }>
}

const W = 520
const H = 380
const M = { left: 64, right: 16, top: 40, bottom: 50 }
const LEGEND_ROW = 18

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
const fmt = (v: number): string => (v >= 1 ? String(Number(v.toPrecision(3))) : String(Number(v.toPrecision(2))))

/** 1-2-5 ticks covering [lo, hi]. */
const logTicks = (lo: number, hi: number): ReadonlyArray<number> => {
  const ticks: Array<number> = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e
      if (t >= lo && t <= hi) ticks.push(t)
    }
  }
  return ticks
}

const panel = (p: Panel, offsetX: number, offsetY: number): string => {
  const ys = [...p.series.flatMap((s) => s.points.map((pt) => pt.y)), ...p.references.map((r) => r.y)].filter((y) => y > 0)
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)))
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 1)))
  const xs = p.xTicks.map(Math.log2)
  const xMin = Math.min(...xs)
  const xMax = Math.max(...xs)
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const sx = (x: number) => M.left + (xMax === xMin ? plotW / 2 : ((Math.log2(x) - xMin) / (xMax - xMin)) * plotW)
  const sy = (y: number) => M.top + plotH - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH
  const out: Array<string> = [`<g transform="translate(${offsetX},${offsetY})">`]
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(p.title)}</text>`)
  for (const t of logTicks(yMin, yMax)) {
    const y = sy(t).toFixed(1)
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`)
    out.push(`<text x="${M.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="11">${fmt(t)}</text>`)
  }
  for (const t of p.xTicks) {
    const x = sx(t).toFixed(1)
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + plotH}" stroke="#efefef"/>`)
    out.push(`<text x="${x}" y="${M.top + plotH + 16}" text-anchor="middle" font-size="11">${t}</text>`)
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`)
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`)
  out.push(
    `<text transform="translate(16,${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`
  )
  for (const ref of p.references) {
    const y = sy(ref.y).toFixed(1)
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#999" stroke-dasharray="2 3"/>`)
    out.push(`<text x="${M.left + 4}" y="${y}" dy="-3" font-size="10" fill="#777">${esc(ref.label)}</text>`)
  }
  for (const s of p.series) {
    const pts = s.points.filter((pt) => pt.y > 0)
    if (pts.length === 0) continue
    const path = pts.map((pt) => `${sx(pt.x).toFixed(1)},${sy(pt.y).toFixed(1)}`).join(" ")
    const dash = s.dash === "" ? "" : ` stroke-dasharray="${s.dash}"`
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`)
    for (const pt of pts) {
      out.push(
        `<circle cx="${sx(pt.x).toFixed(1)}" cy="${sy(pt.y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.label)}: ${fmt(pt.y)} ms at ${pt.x}</title></circle>`
      )
    }
  }
  // legend below the plot, two columns
  p.series.forEach((s, i) => {
    const col = i % 2
    const row = Math.floor(i / 2)
    const x = M.left + col * (plotW / 2)
    const y = H + 8 + row * LEGEND_ROW
    const dash = s.dash === "" ? "" : ` stroke-dasharray="${s.dash}"`
    out.push(`<line x1="${x}" x2="${x + 26}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`)
    out.push(`<text x="${x + 32}" y="${y}" dy="4" font-size="11">${esc(s.label)}</text>`)
  })
  out.push("</g>")
  return out.join("\n")
}

export const chart = (title: string, panels: ReadonlyArray<Panel>, note: string): string => {
  const legendRows = Math.max(...panels.map((p) => Math.ceil(p.series.length / 2)), 0)
  const top = 34
  const width = W * panels.length
  const height = top + H + 8 + legendRows * LEGEND_ROW + 28
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
    ...panels.map((p, i) => panel(p, i * W, top)),
    `<text x="${width / 2}" y="${height - 10}" text-anchor="middle" font-size="11" fill="#555">${esc(note)}</text>`,
    "</svg>",
    ""
  ].join("\n")
}
