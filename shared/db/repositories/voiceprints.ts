import { sql } from 'kysely';
import type { Voiceprint } from '../../domain/speaker-match';
import type { Executor } from '../transaction';

/**
 * Persons' voiceprints (the running mean of their speaker embeddings) for speaker matching. The raw
 * embeddings never leave the server; these functions serve the pipeline only.
 */

/** The network's persons that have a voiceprint, by index. */
export async function listVoiceprints(db: Executor, networkId: string): Promise<Voiceprint[]> {
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'index', 'voice_embedding', 'voice_sample_count'])
    .where('network_id', '=', networkId)
    .where('voice_embedding', 'is not', null)
    .orderBy('index')
    .execute();
  return rows.map((row) => ({
    personId: row.id,
    index: row.index,
    // real[] comes back as numbers from node-postgres and PGlite alike; Number() guards a string driver.
    embedding: row.voice_embedding!.map(Number),
    sampleCount: row.voice_sample_count,
  }));
}

/** Replaces a person's voiceprint (and optionally their name, for a person the pipeline just created). */
export async function saveVoiceprint(
  db: Executor,
  networkId: string,
  personId: string,
  voiceprint: { embedding: number[]; sampleCount: number; name?: string },
): Promise<void> {
  await db
    .updateTable('persons')
    .set({
      voice_embedding: voiceprint.embedding,
      voice_sample_count: voiceprint.sampleCount,
      ...(voiceprint.name ? { name: voiceprint.name } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where('network_id', '=', networkId)
    .where('id', '=', personId)
    .execute();
}
