import { type Kysely, sql } from 'kysely';

/**
 * The speech segments the accept found in a copy (Silero VAD over the same decoded samples), so the worker
 * that processes the winner does not run the VAD a second time on the same audio (40 ms of CPU per 10 s of
 * speech, the largest stage). Null for copies accepted before: the worker runs the VAD itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE utterances ADD COLUMN vad jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE utterances DROP COLUMN IF EXISTS vad`.execute(db);
}
