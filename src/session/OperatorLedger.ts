import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { Fees, OperatorCall } from "../domain/Chain.js"
import { Address } from "../domain/Address.js"
import type { DatabaseUnavailable } from "../domain/errors.js"
import { orUnavailable } from "../db/errors.js"

/** Where an operator transaction stands: SENT (in a mempool), MINED (not yet final), CONFIRMED, or SUPERSEDED (its nonce went to another transaction). */
export type TxState = "SENT" | "MINED" | "CONFIRMED" | "SUPERSEDED"

/** One nonce of the operator and what was sent under it. */
export interface OperatorTx {
  readonly nonce: number
  readonly state: TxState
  /** Every hash sent with this nonce, oldest first; the last is the newest replacement. */
  readonly hashes: ReadonlyArray<`0x${string}`>
  readonly call: OperatorCall
  /** The fees of the newest hash. */
  readonly fees: Fees
  readonly sessionIds: ReadonlyArray<string>
  /** The head when the newest hash was sent: replacement counts blocks from here. */
  readonly sentBlock: bigint
}

/**
 * The nonce ledger (migration 0006): the operator's transactions, per chain and operator address.
 * `nextNonce` and `record` are meant to run in the transaction that holds the operator lock, so two
 * instances never give out one nonce.
 */
export class OperatorLedger extends Context.Tag("payg/OperatorLedger")<
  OperatorLedger,
  {
    /** One past the highest nonce ever recorded; None when none is. */
    readonly nextNonce: Effect.Effect<Option.Option<number>, DatabaseUnavailable>
    /** Records a newly sent transaction and writes its hash on the settlements it carries. */
    readonly record: (tx: OperatorTx, now: number) => Effect.Effect<void, DatabaseUnavailable>
    /** A replacement (or a re-send) under the same nonce: its hash, fees and block, also on the settlements. */
    readonly resent: (nonce: number, hash: `0x${string}`, fees: Fees, sentBlock: bigint, now: number) => Effect.Effect<void, DatabaseUnavailable>
    readonly setState: (nonce: number, state: TxState, blockNumber: bigint | null, now: number) => Effect.Effect<void, DatabaseUnavailable>
    /** Transactions not final yet (SENT, MINED): to be watched again after a restart. */
    readonly open: Effect.Effect<ReadonlyArray<OperatorTx>, DatabaseUnavailable>
    /** Whether an open transaction touched after `since` carries this session's settlement. */
    readonly carries: (sessionId: string, since: number) => Effect.Effect<boolean, DatabaseUnavailable>
  }
>() {}

const Hex = Schema.TemplateLiteral("0x", Schema.String)
const TxRow = Schema.Struct({
  nonce: Schema.NumberFromString,
  state: Schema.Literal("SENT", "MINED", "CONFIRMED", "SUPERSEDED"),
  hashes: Schema.parseJson(Schema.Array(Hex)),
  toAddress: Address,
  callData: Hex,
  gas: Schema.BigInt,
  maxFeePerGas: Schema.BigInt,
  maxPriorityFeePerGas: Schema.BigInt,
  sessionIds: Schema.parseJson(Schema.Array(Schema.String)),
  sentBlock: Schema.BigInt
})

/** The ledger of one operator on one chain, in PostgreSQL. */
export const OperatorLedgerPg = (chainId: number, operator: Address) =>
  Layer.effect(
    OperatorLedger,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const ts = (ms: number) => new Date(ms)
      const mine = sql`chain_id = ${chainId} AND operator = ${operator}`
      const next = SqlSchema.single({
        Request: Schema.Void,
        Result: Schema.Struct({ next: Schema.NullOr(Schema.NumberFromString) }),
        execute: () => sql`SELECT (max(nonce) + 1)::text AS next FROM operator_transactions WHERE ${mine}`
      })
      const openTxs = SqlSchema.findAll({
        Request: Schema.Void,
        Result: TxRow,
        execute: () => sql`
          SELECT nonce::text AS nonce, state, hashes::text AS hashes, to_address AS "toAddress", call_data AS "callData", gas::text AS gas,
                 max_fee_per_gas::text AS "maxFeePerGas", max_priority_fee_per_gas::text AS "maxPriorityFeePerGas",
                 session_ids::text AS "sessionIds", sent_block::text AS "sentBlock"
          FROM operator_transactions WHERE ${mine} AND state IN ('SENT', 'MINED') ORDER BY nonce`
      })
      /** The newest hash on the settlements a transaction carries, while they are not finished. */
      const hashOnSettlements = (nonce: number, hash: string, now: number) => sql`
        UPDATE settlements SET tx_hash = ${hash}, updated_at = ${ts(now)}
        WHERE status IN ('PENDING', 'DEBT')
          AND session_id IN (SELECT jsonb_array_elements_text(session_ids) FROM operator_transactions WHERE ${mine} AND nonce = ${nonce})`

      return OperatorLedger.of({
        nextNonce: next().pipe(Effect.map((r) => Option.fromNullable(r.next)), orUnavailable),
        record: (tx, now) =>
          sql`
            INSERT INTO operator_transactions (chain_id, operator, nonce, state, tx_hash, hashes, to_address, call_data, gas,
                                               max_fee_per_gas, max_priority_fee_per_gas, session_ids, sent_block, created_at, updated_at)
            VALUES (${chainId}, ${operator}, ${tx.nonce}, ${tx.state}, ${tx.hashes[tx.hashes.length - 1] ?? ""}, ${JSON.stringify(tx.hashes)}::jsonb,
                    ${tx.call.to}, ${tx.call.data}, ${tx.call.gas.toString()}::numeric, ${tx.fees.maxFeePerGas.toString()}::numeric,
                    ${tx.fees.maxPriorityFeePerGas.toString()}::numeric, ${JSON.stringify(tx.sessionIds)}::jsonb, ${tx.sentBlock.toString()}::numeric,
                    ${ts(now)}, ${ts(now)})`.pipe(
            Effect.zipRight(hashOnSettlements(tx.nonce, tx.hashes[tx.hashes.length - 1] ?? "", now)),
            Effect.asVoid,
            orUnavailable
          ),
        resent: (nonce, hash, fees, sentBlock, now) =>
          sql`
            UPDATE operator_transactions
            SET tx_hash = ${hash},
                hashes = CASE WHEN hashes @> jsonb_build_array(${hash}::text) THEN hashes ELSE hashes || jsonb_build_array(${hash}::text) END,
                max_fee_per_gas = ${fees.maxFeePerGas.toString()}::numeric, max_priority_fee_per_gas = ${fees.maxPriorityFeePerGas.toString()}::numeric,
                sent_block = ${sentBlock.toString()}::numeric, state = 'SENT', block_number = NULL, updated_at = ${ts(now)}
            WHERE ${mine} AND nonce = ${nonce}`.pipe(Effect.zipRight(hashOnSettlements(nonce, hash, now)), Effect.asVoid, orUnavailable),
        setState: (nonce, state, blockNumber, now) =>
          sql`
            UPDATE operator_transactions SET state = ${state}, block_number = ${blockNumber === null ? null : blockNumber.toString()}::numeric,
                   updated_at = ${ts(now)}
            WHERE ${mine} AND nonce = ${nonce}`.pipe(Effect.asVoid, orUnavailable),
        open: openTxs().pipe(
          Effect.map((rows) =>
            rows.map(
              (r): OperatorTx => ({
                nonce: r.nonce,
                state: r.state,
                hashes: r.hashes,
                call: { to: r.toAddress, data: r.callData, gas: r.gas },
                fees: { maxFeePerGas: r.maxFeePerGas, maxPriorityFeePerGas: r.maxPriorityFeePerGas },
                sessionIds: r.sessionIds,
                sentBlock: r.sentBlock
              })
            )
          ),
          orUnavailable
        ),
        carries: (sessionId, since) =>
          sql<{ readonly one: number }>`
            SELECT 1 AS one FROM operator_transactions
            WHERE ${mine} AND state IN ('SENT', 'MINED') AND updated_at > ${ts(since)} AND session_ids @> jsonb_build_array(${sessionId}::text)
            LIMIT 1`.pipe(
            Effect.map((rows) => rows.length > 0),
            orUnavailable
          )
      })
    })
  )
