import { type Kysely, sql } from 'kysely';
import { up as createUtteranceClaims } from './2026_11_28_0003_arbitration';

/**
 * Register v2 (migration 0010's `utterances`) decides arbitration on the copies themselves; nothing has read
 * or written `utterance_claims` since. Down recreates it as migration 0003 made it, by that migration's own
 * `up` (empty: claims were short-lived and pruned, nothing in them outlived its upload).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS utterance_claims`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await createUtteranceClaims(db);
}
