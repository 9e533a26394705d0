import { type Kysely, sql } from 'kysely';

/**
 * Arbitration claims: when several clients of one network upload the same utterance, one claim per upload
 * that is still in play. The decision is taken in PostgreSQL (an advisory lock per network, then
 * conditional updates on these rows), because many Lambda instances serve one network at once.
 *
 * `processing`: won so far, the model call is under way; `stored`: its interaction is committed (final);
 * `superseded`: a better copy took over before it was stored (its owner must drop its work);
 * `released`: its owner gave up (no speech, model failure), so it no longer blocks later copies.
 * Dropped uploads leave no row. Rows are short-lived: claims older than a few minutes are pruned.
 */
const statements = [
  sql`CREATE TABLE utterance_claims (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    client_id text NOT NULL,
    captured_at timestamptz NOT NULL,
    score real NOT NULL,
    status text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'stored', 'superseded', 'released')),
    superseded_by uuid REFERENCES utterance_claims(id) ON DELETE SET NULL,
    interaction_id uuid REFERENCES interactions(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX utterance_claims_window_idx ON utterance_claims (network_id, captured_at)`,
  sql`CREATE INDEX utterance_claims_created_idx ON utterance_claims (created_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS utterance_claims`.execute(db);
}
