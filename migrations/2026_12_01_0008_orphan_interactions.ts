import { type Kysely, sql } from 'kysely';

/**
 * The 4.x app lists the interactions that belong to no conversation (`orphans_only=true`): a partial index
 * keeps that page an index scan, however many interactions the network has in conversations.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX interactions_orphans_time_idx ON interactions (network_id, timestamp DESC, id DESC)
    WHERE conversation_id IS NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS interactions_orphans_time_idx`.execute(db);
}
