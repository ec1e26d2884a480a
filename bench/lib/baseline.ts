import pg from "pg"
import { CONTENT_COLUMNS, SELECT_SESSION } from "../../src/db/queries.js"

/**
 * What the baseline servers do for `GET /api/session/:id?userAddress=...` and `GET /api/content`:
 * the app's own SQL (imported from src/db/queries.ts, which the repositories use), through
 * `pg`, shaped into the same envelope. No validation library, no framework beyond the router.
 */

/** The app's own statements (imported, so the baselines can never drift from what the app runs). */
export const SESSION_SQL = `${SELECT_SESSION} WHERE s.id = $1`

export const CONTENT_SQL = `SELECT ${CONTENT_COLUMNS} FROM content WHERE is_active ORDER BY created_at, id LIMIT $1`

export interface Reply {
  readonly status: number
  readonly body: string
}

const error = (status: number, name: string, message: string): Reply => ({
  status,
  body: JSON.stringify({ error: name, message, statusCode: status, timestamp: new Date().toISOString() })
})

const str = (row: Record<string, unknown>, key: string): string => {
  const v = row[key]
  return typeof v === "string" ? v : String(v)
}
const num = (row: Record<string, unknown>, key: string): number => {
  const v = row[key]
  return typeof v === "number" ? v : Number(v)
}
const date = (row: Record<string, unknown>, key: string): number | null => {
  const v = row[key]
  return v instanceof Date ? v.getTime() : null
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** The session detail: the same fields and arithmetic as the app's view (src/session/views.ts). */
export const getSession = async (pool: pg.Pool, sessionId: string, userAddress: string | null): Promise<Reply> => {
  if (userAddress === null || !ADDRESS.test(userAddress)) return error(400, "Bad Request", "userAddress must be an address")
  const { rows } = await pool.query<Record<string, unknown>>(SESSION_SQL, [sessionId])
  const row = rows[0]
  if (!row) return error(404, "Not Found", `session ${sessionId} not found`)
  if (str(row, "userAddress") !== userAddress.toLowerCase()) return error(403, "Forbidden", "not your session")
  const now = Date.now()
  const status = str(row, "status")
  const startedAt = date(row, "startedAt") ?? now
  const endedAt = date(row, "endedAt")
  const segment = date(row, "segmentStartedAt") ?? startedAt
  const at = endedAt ?? now
  const open = Math.max(0, at - segment)
  const activeMs = num(row, "activeMs") + (status === "ACTIVE" ? open : 0)
  const pausedMs = num(row, "pausedMs") + (status === "PAUSED" ? open : 0)
  const fullPrice = BigInt(str(row, "fullPrice"))
  const totalDuration = num(row, "totalDuration")
  const billed = row.billedSeconds === null ? Math.floor(activeMs / 1000) : num(row, "billedSeconds")
  const pro = billed <= 0 ? 0n : (fullPrice * BigInt(billed)) / BigInt(totalDuration)
  const finalCost = row.finalCost === null ? null : str(row, "finalCost")
  const data = {
    sessionId: str(row, "id"),
    status,
    startTime: new Date(startedAt).toISOString(),
    endTime: endedAt === null ? null : new Date(endedAt).toISOString(),
    totalDuration: Math.floor(Math.max(0, at - startedAt) / 1000),
    activeDuration: billed,
    pausedDuration: Math.floor(pausedMs / 1000),
    currentCost: finalCost ?? (pro < fullPrice ? pro : fullPrice).toString(),
    finalCost,
    settlementKey: str(row, "settlementKey"),
    content: { id: str(row, "contentId"), title: str(row, "contentTitle"), fullPrice: fullPrice.toString(), totalDuration },
    payment:
      row.sStatus === "CONFIRMED"
        ? {
            fromYield: str(row, "sFromYield"),
            fromPrincipal: str(row, "sFromPrincipal"),
            txHash: str(row, "sTxHash"),
            blockNumber: num(row, "sBlockNumber"),
            gasUsed: str(row, "sGasUsed"),
            batchSize: num(row, "sBatchSize")
          }
        : null,
    failureReason: row.failureReason ?? null
  }
  return { status: 200, body: JSON.stringify({ success: true, data, timestamp: new Date(now).toISOString() }) }
}

/** The first page of active content (50 items, one more read to know whether another page follows). */
export const listContent = async (pool: pg.Pool): Promise<Reply> => {
  const limit = 50
  const { rows } = await pool.query<Record<string, unknown>>(CONTENT_SQL, [limit + 1])
  const items = rows.slice(0, limit).map((r) => ({
    id: str(r, "id"),
    contentId: str(r, "contentId"),
    title: str(r, "title"),
    description: str(r, "description"),
    fullPrice: str(r, "fullPrice"),
    totalDuration: num(r, "totalDuration"),
    category: str(r, "category"),
    thumbnailUrl: r.thumbnailUrl ?? null,
    isActive: r.isActive === true,
    createdAt: new Date(date(r, "createdAt") ?? 0).toISOString()
  }))
  const last = items[items.length - 1]
  const nextCursor = rows.length > limit && last ? last.id : null
  return { status: 200, body: JSON.stringify({ success: true, data: items, timestamp: new Date().toISOString(), nextCursor }) }
}

/** A pool the size of the app's (DATABASE_POOL_SIZE, default 10). */
export const makePool = (url: string, size: number): pg.Pool => new pg.Pool({ connectionString: url, max: size, application_name: "payg-bench-baseline" })
