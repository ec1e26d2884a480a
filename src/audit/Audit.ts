import { SqlClient, SqlSchema } from "@effect/sql"
import { Clock, Effect, Option, Schema } from "effect"
import { Address } from "../domain/Address.js"
import { contentKeyOf } from "../domain/Chain.js"
import { orUnavailable } from "../db/errors.js"
import { formatUsdc } from "../domain/Money.js"
import { LedgerLog, type ListingLog, type PaymentLog } from "./LedgerLog.js"

/** A session and its settlement as the audit reads them from the database. */
export interface LedgerSession {
  readonly sessionId: string
  readonly settlementKey: bigint
  readonly status: string
  readonly userAddress: Address
  readonly contentId: string
  readonly finalCost: bigint | null
  readonly updatedAt: number
  readonly settlement: Option.Option<{
    readonly mode: "operator" | "user"
    readonly status: string
    readonly amount: bigint
    readonly paid: bigint | null
    readonly txHash: string | null
    readonly creator: Address | null
  }>
}

export type MismatchKind =
  | "key-settled-twice"
  | "event-without-completed-session"
  | "completed-without-event"
  | "completed-without-settlement"
  | "amount-differs"
  | "user-differs"
  | "content-differs"
  | "creator-differs"
  | "stuck-settling"
  | "user-sum-differs"

export interface Mismatch {
  readonly kind: MismatchKind
  readonly settlementKey?: bigint
  readonly sessionId?: string
  readonly user?: Address
  readonly detail: string
}

export interface AuditOptions {
  /** The first block of the deployment (its binding's fromBlock). */
  readonly fromBlock: bigint
  /** Blocks per eth_getLogs call. */
  readonly chunkSize: bigint
  /** A session SETTLING for longer than this is stuck. */
  readonly settlingBoundMs: number
}

export interface AuditReport {
  readonly mismatches: ReadonlyArray<Mismatch>
  readonly fromBlock: bigint
  readonly toBlock: bigint
  readonly events: number
  readonly sessions: number
  readonly users: number
}

const byChainOrder = (a: { blockNumber: bigint; logIndex: number }, b: { blockNumber: bigint; logIndex: number }) =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1

/** The creator a content key paid at a block: its last listing event at or before it. */
const creatorAt = (listings: ReadonlyArray<ListingLog>, contentKey: string, at: PaymentLog): Option.Option<Address> => {
  let found: Option.Option<Address> = Option.none()
  for (const l of listings) {
    if (byChainOrder(l, at) > 0) break
    if (l.contentKey === contentKey) found = Option.some(l.creator)
  }
  return found
}

const add = (m: Map<Address, bigint>, k: Address, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v)

/**
 * Every disagreement between the chain's payment events and the database's sessions (pure). A session
 * SETTLING for less than `settlingBoundMs` is in flight: its event, if already mined, is not reported.
 */
export const compareLedgers = (
  payments: ReadonlyArray<PaymentLog>,
  listings: ReadonlyArray<ListingLog>,
  sessions: ReadonlyArray<LedgerSession>,
  now: number,
  settlingBoundMs: number
): ReadonlyArray<Mismatch> => {
  const out: Array<Mismatch> = []
  const sortedListings = [...listings].sort(byChainOrder)
  const byKey = new Map<bigint, Array<PaymentLog>>()
  for (const p of payments) byKey.set(p.sessionKey, [...(byKey.get(p.sessionKey) ?? []), p])
  const sessionByKey = new Map(sessions.map((s) => [s.settlementKey, s]))
  const inFlight = (s: LedgerSession) => s.status === "SETTLING" && now - s.updatedAt < settlingBoundMs

  for (const [key, events] of byKey) {
    if (events.length > 1) {
      out.push({ kind: "key-settled-twice", settlementKey: key, detail: `${events.length} payment events: ${events.map((e) => `${e._tag} in ${e.txHash}`).join(", ")}` })
    }
    const s = sessionByKey.get(key)
    if (s === undefined) {
      out.push({ kind: "event-without-completed-session", settlementKey: key, detail: `no session has this key (paid by ${events.map((e) => e.user).join(", ")})` })
    }
    else if (s.status !== "COMPLETED" && !inFlight(s)) {
      out.push({ kind: "event-without-completed-session", settlementKey: key, sessionId: s.sessionId, user: s.userAddress, detail: `the session is ${s.status}` })
    }
  }

  const chainSums = new Map<Address, bigint>()
  const dbSums = new Map<Address, bigint>()
  for (const p of payments) {
    const s = sessionByKey.get(p.sessionKey)
    if (s === undefined || !inFlight(s)) add(chainSums, p.user, p.amount)
  }

  for (const s of sessions) {
    const ref = { settlementKey: s.settlementKey, sessionId: s.sessionId, user: s.userAddress }
    if (s.status === "SETTLING" && !inFlight(s)) {
      out.push({ kind: "stuck-settling", ...ref, detail: `SETTLING since ${new Date(s.updatedAt).toISOString()}` })
    }
    if (Option.isSome(s.settlement) && s.settlement.value.status === "CONFIRMED") {
      const t = s.settlement.value
      add(dbSums, s.userAddress, t.mode === "user" ? (t.paid ?? t.amount) : t.amount)
    }
    if (s.status !== "COMPLETED") continue
    const events = byKey.get(s.settlementKey) ?? []
    if (Option.isNone(s.settlement)) out.push({ kind: "completed-without-settlement", ...ref, detail: "COMPLETED, but no settlement is recorded" })
    const t = Option.getOrNull(s.settlement)
    const mine = t?.mode === "user" ? events.filter((e) => e._tag === "SessionPaid") : events.filter((e) => e._tag === "SessionSettled")
    const event = mine.find((e) => e.txHash === t?.txHash) ?? mine[0] ?? events[0]
    if (event === undefined) {
      out.push({ kind: "completed-without-event", ...ref, detail: `COMPLETED, but the chain has no payment event for key ${s.settlementKey}` })
      continue
    }
    if (event.user !== s.userAddress) out.push({ kind: "user-differs", ...ref, detail: `paid on chain by ${event.user}` })
    if (event.contentKey !== contentKeyOf(s.contentId)) out.push({ kind: "content-differs", ...ref, detail: `paid on chain for content ${event.contentKey}, not '${s.contentId}'` })
    if (t !== null) {
      const amountOk = t.mode === "user" ? event.amount >= t.amount : event.amount === t.amount
      if (!amountOk) out.push({ kind: "amount-differs", ...ref, detail: `recorded ${t.amount} (${formatUsdc(t.amount)}), paid on chain ${event.amount}` })
      if (s.finalCost !== t.amount) out.push({ kind: "amount-differs", ...ref, detail: `the session's final cost ${s.finalCost ?? "null"} is not its settlement's ${t.amount}` })
      const credited = creatorAt(sortedListings, event.contentKey, event)
      if (t.creator !== null && Option.isSome(credited) && credited.value !== t.creator) {
        out.push({ kind: "creator-differs", ...ref, detail: `recorded creator ${t.creator}, the chain credited ${credited.value}` })
      }
    }
  }

  for (const user of new Set([...chainSums.keys(), ...dbSums.keys()])) {
    const onChain = chainSums.get(user) ?? 0n
    const recorded = dbSums.get(user) ?? 0n
    if (onChain !== recorded) out.push({ kind: "user-sum-differs", user, detail: `paid on chain ${onChain} (${formatUsdc(onChain)}), recorded ${recorded} (${formatUsdc(recorded)})` })
  }
  return out
}

const Millis = Schema.transform(Schema.DateFromSelf, Schema.Number, { strict: true, decode: (d) => d.getTime(), encode: (ms) => new Date(ms) })

const Row = Schema.Struct({
  sessionId: Schema.String,
  settlementKey: Schema.BigInt,
  status: Schema.String,
  userAddress: Address,
  contentId: Schema.String,
  finalCost: Schema.NullOr(Schema.BigInt),
  updatedAt: Millis,
  tMode: Schema.NullOr(Schema.Literal("operator", "user")),
  tStatus: Schema.NullOr(Schema.String),
  tAmount: Schema.NullOr(Schema.BigInt),
  tPaid: Schema.NullOr(Schema.BigInt),
  tTxHash: Schema.NullOr(Schema.String),
  tCreator: Schema.NullOr(Address)
})

/** Every session that ended, is settling or has a settlement: what a payment event may belong to. */
export const readSessions = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* SqlSchema.findAll({
    Request: Schema.Void,
    Result: Row,
    execute: () => sql`
      SELECT s.id AS "sessionId", s.settlement_key::text AS "settlementKey", s.status, s.user_address AS "userAddress",
             s.content_id AS "contentId", s.final_cost::text AS "finalCost", s.updated_at AS "updatedAt",
             t.mode AS "tMode", t.status AS "tStatus", t.amount::text AS "tAmount",
             (t.from_yield + t.from_principal)::text AS "tPaid", t.tx_hash AS "tTxHash", t.creator_address AS "tCreator"
      FROM sessions s LEFT JOIN settlements t ON t.session_id = s.id
      WHERE s.status NOT IN ('ACTIVE', 'PAUSED') OR t.session_id IS NOT NULL`
  })(undefined).pipe(orUnavailable)
  return rows.map(
    (r): LedgerSession => ({
      sessionId: r.sessionId,
      settlementKey: r.settlementKey,
      status: r.status,
      userAddress: r.userAddress,
      contentId: r.contentId,
      finalCost: r.finalCost,
      updatedAt: r.updatedAt,
      settlement:
        r.tMode === null || r.tStatus === null || r.tAmount === null
          ? Option.none()
          : Option.some({ mode: r.tMode, status: r.tStatus, amount: r.tAmount, paid: r.tPaid, txHash: r.tTxHash, creator: r.tCreator })
    })
  )
})

/** The wallet's events from `fromBlock` to the head, `chunkSize` blocks per call. */
export const readLedger = (fromBlock: bigint, chunkSize: bigint) =>
  Effect.gen(function* () {
    const log = yield* LedgerLog
    const head = yield* log.head
    const payments: Array<PaymentLog> = []
    const listings: Array<ListingLog> = []
    for (let from = fromBlock; from <= head; from += chunkSize) {
      const to = from + chunkSize - 1n < head ? from + chunkSize - 1n : head
      for (const e of yield* log.between(from, to)) {
        if (e._tag === "Listing") listings.push(e)
        else payments.push(e)
      }
    }
    return { head, payments, listings }
  })

/** Reads the chain and the database and compares them: the audit of `npm run audit`. */
export const audit = (options: AuditOptions) =>
  Effect.gen(function* () {
    const ledger = yield* readLedger(options.fromBlock, options.chunkSize)
    const sessions = yield* readSessions
    const now = yield* Clock.currentTimeMillis
    const mismatches = compareLedgers(ledger.payments, ledger.listings, sessions, now, options.settlingBoundMs)
    const users = new Set([...ledger.payments.map((p) => p.user), ...sessions.map((s) => s.userAddress)])
    return {
      mismatches,
      fromBlock: options.fromBlock,
      toBlock: ledger.head,
      events: ledger.payments.length,
      sessions: sessions.length,
      users: users.size
    } satisfies AuditReport
  }).pipe(Effect.withSpan("Audit.run"))

/** One line per mismatch, as `npm run audit` prints it. */
export const describeMismatch = (m: Mismatch): string =>
  [
    `MISMATCH ${m.kind}`,
    m.settlementKey === undefined ? "" : ` key=${m.settlementKey}`,
    m.sessionId === undefined ? "" : ` session=${m.sessionId}`,
    m.user === undefined ? "" : ` user=${m.user}`,
    `: ${m.detail}`
  ].join("")

/** The one-line summary of a clean audit. */
export const describeClean = (r: AuditReport): string =>
  `audit clean: ${r.events} payment event(s) in blocks ${r.fromBlock}-${r.toBlock} agree with ${r.sessions} session(s) of ${r.users} user(s)`
