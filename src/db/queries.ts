/**
 * The text of the hottest statements, dependency-free, so the repositories and the benchmark's baseline
 * servers run exactly the same SQL (bench/lib/baseline.ts imports it without loading the app).
 */

/** A session with its content's title and its settlement (one row). */
export const SELECT_SESSION = `SELECT s.id, s.settlement_key::text AS "settlementKey", s.user_address AS "userAddress", s.content_id AS "contentId",
             c.title AS "contentTitle", s.status, s.full_price::text AS "fullPrice", s.total_duration AS "totalDuration",
             s.started_at AS "startedAt", s.active_ms::text AS "activeMs", s.paused_ms::text AS "pausedMs",
             s.segment_started_at AS "segmentStartedAt", s.ended_at AS "endedAt", s.billed_seconds AS "billedSeconds",
             s.final_cost::text AS "finalCost", s.failure_reason AS "failureReason", s.updated_at AS "updatedAt",
             s.last_heartbeat_at AS "lastHeartbeatAt", s.live_until AS "liveUntil",
             t.mode AS "sMode", t.amount::text AS "sAmount", t.user_tx_hash AS "sUserTxHash", t.status AS "sStatus",
             t.attempts AS "sAttempts", t.tx_hash AS "sTxHash", t.block_number::text AS "sBlockNumber",
             t.gas_used::text AS "sGasUsed", t.batch_size AS "sBatchSize", t.from_yield::text AS "sFromYield",
             t.from_principal::text AS "sFromPrincipal", t.failure_reason AS "sFailureReason", t.created_at AS "sCreatedAt",
             s.authorization_max_amount::text AS "authMaxAmount", s.authorization_deadline::text AS "authDeadline", s.authorization_signature AS "authSignature"
      FROM sessions s
      JOIN content c ON c.content_id = s.content_id
      LEFT JOIN settlements t ON t.session_id = s.id`

/** The columns of a catalogue item, named as ContentRepo reads them. */
export const CONTENT_COLUMNS = `id, content_id AS "contentId", title, description, full_price::text AS "fullPrice",
  total_duration AS "totalDuration", category, thumbnail_url AS "thumbnailUrl",
  is_active AS "isActive", creator_address AS "creatorAddress", created_at AS "createdAt"`
