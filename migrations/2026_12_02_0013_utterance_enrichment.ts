import { type Kysely, sql } from 'kysely';

/**
 * The model's answer for a winning copy (transcript and enrichment), kept as soon as it came: a delivery
 * that fails after the model call (the storing transaction, the database) is retried without calling the
 * model again, so an utterance costs one transcription call however often its job runs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE utterances ADD COLUMN enrichment jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE utterances DROP COLUMN IF EXISTS enrichment`.execute(db);
}
