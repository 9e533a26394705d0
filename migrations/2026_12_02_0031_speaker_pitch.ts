import { type Kysely, sql } from 'kysely';

/**
 * Each stored speaker embedding keeps the median pitch (F0, Hz) of the speech it came from, so a person's
 * habitual pitch can veto a name the embedding alone would give (issue 15: voices of the same timbre a
 * few semitones apart score as one person). Null where it was not measured (older rows, unvoiced audio):
 * then nothing is vetoed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE speaker_embeddings ADD COLUMN pitch_hz real`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE speaker_embeddings DROP COLUMN IF EXISTS pitch_hz`.execute(db);
}
