import { Option } from "effect"
import { costOf, billedSeconds } from "../domain/Pricing.js"
import * as Session from "../domain/Session.js"
import type { SessionRecord, SettlementRecord } from "./SessionRepo.js"

/** Wire views of a session at a moment. Durations are whole seconds; amounts stay bigint. */

const iso = (ms: number): string => new Date(ms).toISOString()
const seconds = (ms: number): number => Math.floor(ms / 1000)

export const timing = (s: SessionRecord, now: number) => {
  const d = Session.durations(s.clock, now)
  const billed = s.billedSeconds ?? billedSeconds(d.activeMs)
  return {
    totalDuration: seconds(d.totalMs),
    activeDuration: billed,
    pausedDuration: seconds(d.pausedMs),
    currentCost: s.finalCost ?? costOf(s.fullPrice, billed, s.totalDuration)
  }
}

export const payment = (s: Option.Option<SettlementRecord>) =>
  Option.match(s, {
    onNone: () => null,
    onSome: (t) =>
      t.status === "CONFIRMED" && t.txHash !== null && t.blockNumber !== null
        ? {
            fromYield: t.fromYield ?? 0n,
            fromPrincipal: t.fromPrincipal ?? 0n,
            txHash: t.txHash,
            blockNumber: Number(t.blockNumber),
            gasUsed: (t.gasUsed ?? 0n).toString(),
            batchSize: t.batchSize ?? 1
          }
        : null
  })

const brief = (s: SessionRecord) => ({ id: s.contentId, title: s.contentTitle })
export const contentSummary = (s: SessionRecord) => ({ ...brief(s), fullPrice: s.fullPrice, totalDuration: s.totalDuration })

export const detail = (s: SessionRecord, now: number) => {
  const t = timing(s, now)
  return {
    sessionId: s.id,
    status: s.clock.status,
    startTime: iso(s.clock.startedAt),
    endTime: s.clock.endedAt === null ? null : iso(s.clock.endedAt),
    ...t,
    finalCost: s.finalCost,
    settlementKey: s.settlementKey.toString(),
    content: contentSummary(s),
    payment: payment(s.settlement),
    failureReason: s.failureReason
  }
}

export const activeItem = (s: SessionRecord) => ({
  sessionId: s.id,
  status: s.clock.status,
  startTime: iso(s.clock.startedAt),
  content: brief(s)
})

export const historyItem = (s: SessionRecord, now: number) => ({
  sessionId: s.id,
  status: s.clock.status,
  startTime: iso(s.clock.startedAt),
  endTime: s.clock.endedAt === null ? null : iso(s.clock.endedAt),
  totalDuration: timing(s, now).totalDuration,
  finalCost: s.finalCost,
  content: brief(s)
})

export const stopped = (s: SessionRecord) => {
  const end = s.clock.endedAt ?? s.updatedAt
  const t = timing(s, end)
  const common = {
    sessionId: s.id,
    endTime: iso(end),
    totalDuration: t.totalDuration,
    activeDuration: t.activeDuration,
    finalCost: s.finalCost ?? 0n
  }
  switch (s.clock.status) {
    case "COMPLETED":
      return { ...common, status: "completed" as const, payment: payment(s.settlement), failureReason: null }
    case "FAILED":
      return { ...common, status: "failed" as const, payment: null, failureReason: s.failureReason }
    // a debt: finalCost is owed, failureReason says why the chain refused it
    case "UNPAID":
      return { ...common, status: "unpaid" as const, payment: null, failureReason: s.failureReason }
    case "CANCELLED":
      return { ...common, status: "cancelled" as const, payment: null, failureReason: null }
    default:
      // the transaction carrying the payment, once it is sent
      return { ...common, status: "settling" as const, payment: null, txHash: Option.getOrNull(Option.flatMapNullable(s.settlement, (t) => t.txHash)) }
  }
}

/** History cursors: the (startedAt, id) of the last row, base64url-encoded. */
export const encodeCursor = (s: SessionRecord): string => Buffer.from(`${s.clock.startedAt}:${s.id}`).toString("base64url")

export const decodeCursor = (cursor: string): Option.Option<{ readonly startedAt: number; readonly id: string }> => {
  const text = Buffer.from(cursor, "base64url").toString("utf8")
  const match = /^(\d{1,15}):(session_[0-9a-z]{1,12}_[0-9a-f]{8})$/.exec(text)
  if (!match || match[1] === undefined || match[2] === undefined) return Option.none()
  return Option.some({ startedAt: Number(match[1]), id: match[2] })
}
