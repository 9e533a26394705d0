import { type Kysely, sql } from 'kysely';

/**
 * Search's exact path (servers without pgvector) keeps each network's newest embeddings in memory and
 * asks only for what was stored or replaced since (`created_at` is set again on a replacement): an index
 * in that order makes the question one probe instead of a read of the network's every embedding.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX embeddings_network_changes_idx ON embeddings (network_id, created_at, id)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS embeddings_network_changes_idx`.execute(db);
}
