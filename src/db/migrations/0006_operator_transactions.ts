import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The operator's transactions (docs/RELIABILITY.md, "The operator's transactions"): the nonce ledger.
 * One row per nonce the backend gave out, with every hash sent under it (a replacement keeps the
 * nonce, and an older hash may still be the one mined), the fees of the latest, the call it carries
 * and the sessions it settles. A restart or a second instance continues the sequence from here, under
 * the operator's advisory lock.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE operator_transactions (
      chain_id                  bigint NOT NULL,
      operator                  text NOT NULL,
      nonce                     bigint NOT NULL CHECK (nonce >= 0),
      state                     text NOT NULL CHECK (state IN ('SENT', 'MINED', 'CONFIRMED', 'SUPERSEDED')),
      tx_hash                   text NOT NULL,
      hashes                    jsonb NOT NULL,
      to_address                text NOT NULL,
      call_data                 text NOT NULL,
      gas                       numeric(78, 0) NOT NULL,
      max_fee_per_gas           numeric(78, 0) NOT NULL,
      max_priority_fee_per_gas  numeric(78, 0) NOT NULL,
      session_ids               jsonb NOT NULL,
      sent_block                numeric(78, 0) NOT NULL,
      block_number              numeric(78, 0),
      created_at                timestamptz NOT NULL,
      updated_at                timestamptz NOT NULL,
      PRIMARY KEY (chain_id, operator, nonce)
    )`
  // the transactions still to be watched (at start-up, and by the reconciler)
  yield* sql`CREATE INDEX operator_transactions_open_idx ON operator_transactions (updated_at) WHERE state IN ('SENT', 'MINED')`
})
