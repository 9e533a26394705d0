import { type Kysely, sql } from 'kysely';

/**
 * Register v2: uploads are accepted at once and processed on a queue.
 *
 * `utterances`: one row per accepted copy (an upload of one client). Copies of one utterance (same network,
 * other clients, capture times within the arbitration window) settle until `settle_until` (the first
 * copy's arrival plus the settle window); then the best score wins, decided under the network's
 * arbitration lock: the winner goes `processing` (under a lease, so one worker at a time calls the model),
 * the others `dropped` with `winner_id`. `stored` once its interaction committed; `failed` after the last
 * attempt. `answer_status`/`answer_body` hold the outcome a synchronous caller waits for (and an
 * Idempotency-Key replays); `heard_by` is computed from the group at store time.
 *
 * `queue_jobs`: the local, PostgreSQL-backed job queue behind shared/queue (SQS stands in for it in AWS).
 * A job is taken with SELECT ... FOR UPDATE SKIP LOCKED, becomes invisible until `visible_at`
 * (the visibility timeout) under a fresh `lock_token`, and is deleted when done; a failure makes it
 * visible again after a backoff; after `max_attempts` it stays as `dead` (the dead-letter queue).
 */
const statements = [
  sql`CREATE TABLE utterances (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    client_id text NOT NULL,
    captured_at timestamptz NOT NULL,
    score real NOT NULL,
    status text NOT NULL DEFAULT 'accepted'
      CHECK (status IN ('accepted', 'processing', 'stored', 'dropped', 'failed')),
    settle_until timestamptz NOT NULL,
    audio_key text,
    raw_pcm16 boolean NOT NULL DEFAULT false,
    transcript text,
    winner_id uuid REFERENCES utterances(id) ON DELETE SET NULL,
    interaction_id uuid REFERENCES interactions(id) ON DELETE SET NULL,
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    answer_status integer,
    answer_body jsonb,
    error_code text,
    error_detail text,
    idempotency_key text,
    fingerprint text,
    batch_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX utterances_window_idx ON utterances (network_id, captured_at)`,
  sql`CREATE UNIQUE INDEX utterances_idempotency_idx ON utterances (network_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL`,
  sql`CREATE TABLE queue_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    queue text NOT NULL,
    body jsonb NOT NULL,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'dead')),
    visible_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    lock_token uuid,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX queue_jobs_ready_idx ON queue_jobs (queue, visible_at) WHERE status = 'queued'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS queue_jobs`.execute(db);
  await sql`DROP TABLE IF EXISTS utterances`.execute(db);
}
