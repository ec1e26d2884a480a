import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Content catalogue, sessions, settlements (the outbox) and the chain binding.
 * Amounts are numeric(78,0): any uint256 fits, nothing is ever a float.
 * Written for PostgreSQL 15 and PGlite (PostgreSQL 18) alike.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE content (
      id              text PRIMARY KEY,
      content_id      text NOT NULL UNIQUE,
      title           text NOT NULL,
      description     text NOT NULL DEFAULT '',
      full_price      numeric(78, 0) NOT NULL CHECK (full_price >= 0),
      total_duration  integer NOT NULL CHECK (total_duration > 0),
      category        text NOT NULL,
      thumbnail_url   text,
      is_active       boolean NOT NULL DEFAULT true,
      creator_address text NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX content_active_category_idx ON content (category, created_at, id) WHERE is_active`

  // Settlement keys: one per session, assigned once, never reused (the contract refuses a key twice).
  yield* sql`CREATE SEQUENCE settlement_key_seq START 1`

  yield* sql`
    CREATE TABLE sessions (
      id                 text PRIMARY KEY,
      settlement_key     bigint NOT NULL UNIQUE DEFAULT nextval('settlement_key_seq'),
      user_address       text NOT NULL CHECK (user_address ~ '^0x[0-9a-f]{40}$'),
      content_id         text NOT NULL REFERENCES content (content_id),
      status             text NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'SETTLING', 'COMPLETED', 'CANCELLED', 'FAILED')),
      full_price         numeric(78, 0) NOT NULL,
      total_duration     integer NOT NULL,
      started_at         timestamptz NOT NULL,
      active_ms          bigint NOT NULL DEFAULT 0,
      paused_ms          bigint NOT NULL DEFAULT 0,
      segment_started_at timestamptz NOT NULL,
      ended_at           timestamptz,
      billed_seconds     integer,
      final_cost         numeric(78, 0),
      failure_reason     text,
      updated_at         timestamptz NOT NULL
    )`
  // At most one open session per user and content: enforced here, not only by a read.
  yield* sql`
    CREATE UNIQUE INDEX sessions_one_open_per_user_content
      ON sessions (user_address, content_id) WHERE status IN ('ACTIVE', 'PAUSED')`
  yield* sql`CREATE INDEX sessions_user_history_idx ON sessions (user_address, started_at DESC, id DESC)`
  yield* sql`CREATE INDEX sessions_open_idle_idx ON sessions (updated_at) WHERE status IN ('ACTIVE', 'PAUSED')`
  yield* sql`CREATE INDEX sessions_settling_idx ON sessions (updated_at) WHERE status = 'SETTLING'`

  // The outbox: written in the same transaction as the move to SETTLING, before anything goes to the chain.
  yield* sql`
    CREATE TABLE settlements (
      session_id      text PRIMARY KEY REFERENCES sessions (id),
      settlement_key  bigint NOT NULL UNIQUE,
      user_address    text NOT NULL,
      content_id      text NOT NULL,
      amount          numeric(78, 0) NOT NULL CHECK (amount > 0),
      mode            text NOT NULL CHECK (mode IN ('operator', 'user')),
      user_tx_hash    text,
      status          text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'FAILED')),
      attempts        integer NOT NULL DEFAULT 0,
      tx_hash         text,
      block_number    bigint,
      gas_used        numeric(78, 0),
      batch_size      integer,
      from_yield      numeric(78, 0),
      from_principal  numeric(78, 0),
      failure_reason  text,
      created_at      timestamptz NOT NULL,
      updated_at      timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX settlements_pending_idx ON settlements (created_at) WHERE status = 'PENDING'`
  yield* sql`CREATE UNIQUE INDEX settlements_user_tx_idx ON settlements (user_tx_hash) WHERE user_tx_hash IS NOT NULL`

  // Which chain and deployment this database settles on (one row).
  yield* sql`
    CREATE TABLE chain_binding (
      singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      chain_id    bigint NOT NULL,
      usdc        text NOT NULL,
      vault       text NOT NULL,
      wallet      text NOT NULL,
      kind        text NOT NULL,
      bound_at    timestamptz NOT NULL DEFAULT now()
    )`

  // Stripe-style idempotency keys for POST requests.
  yield* sql`
    CREATE TABLE idempotency_keys (
      key            text NOT NULL,
      scope          text NOT NULL,
      request_hash   text NOT NULL,
      status_code    integer,
      response_body  text,
      created_at     timestamptz NOT NULL,
      completed_at   timestamptz,
      PRIMARY KEY (scope, key)
    )`
})
