import { type Kysely, sql } from 'kysely';

/**
 * Register v2 (migration 0010's `utterances`) decides arbitration on the copies themselves; nothing has read
 * or written `utterance_claims` since. Down recreates it as migration 0003 made it (empty: claims were
 * short-lived and pruned, nothing in them outlived its upload).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS utterance_claims`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE utterance_claims (
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
  )`.execute(db);
  await sql`CREATE INDEX utterance_claims_window_idx ON utterance_claims (network_id, captured_at)`.execute(
    db,
  );
  await sql`CREATE INDEX utterance_claims_created_idx ON utterance_claims (created_at)`.execute(db);
}
