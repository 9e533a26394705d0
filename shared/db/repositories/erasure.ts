import { sql } from 'kysely';
import type { Executor } from '../transaction';
import type { EpisodicMemory } from '../types';

/**
 * Deleting what was said, and everything derived only from it: `forget` ("Mira, forget what I just said")
 * and the retention sweep. Foreign keys already cascade an interaction's embedding and actions; what they
 * do not reach is written here: the memories that name it in their provenance, Mira's reply to it, the
 * register copies (`utterances`, which hold the device's transcript and the audio's key) and the
 * summaries of its conversation.
 */

/** Who "I" is in "forget what I just said": the known speaker, else the device that asked. */
export type Speaker = { personId: string } | { clientId: string };

/**
 * The latest utterances of `speaker` before `before` (the command itself excluded) within `withinMs`, at
 * most `limit`, newest first. Mira's own replies are never "what I said".
 */
export function latestUtterancesOf(
  db: Executor,
  networkId: string,
  speaker: Speaker,
  before: Date,
  options: { withinMs: number; limit: number; excludeId: string },
) {
  let query = db
    .selectFrom('interactions')
    .select(['id', 'text', 'timestamp'])
    .where('network_id', '=', networkId)
    .where('id', '<>', options.excludeId)
    .where('interaction_type', '<>', 'system')
    .where('timestamp', '<=', before)
    .where('timestamp', '>=', new Date(before.getTime() - options.withinMs));
  query =
    'personId' in speaker
      ? query.where('person_id', '=', speaker.personId)
      : // An unknown speaker: that device's utterances nobody was recognised in (not a known person's).
        query.where('client_id', '=', speaker.clientId).where('person_id', 'is', null);
  return query.orderBy('timestamp', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}

/** The interactions with Mira's replies to them (`system` interactions whose `metadata.in_reply_to` is one). */
export async function withReplies(db: Executor, networkId: string, interactionIds: string[]) {
  if (interactionIds.length === 0) return [];
  const replies = await db
    .selectFrom('interactions')
    .select('id')
    .where('network_id', '=', networkId)
    .where('interaction_type', '=', 'system')
    .where(sql<string>`metadata->>'in_reply_to'`, 'in', interactionIds)
    .execute();
  return [...new Set([...interactionIds, ...replies.map((r) => r.id)])];
}

/** The register copies of these interactions: the winning copy and the copies it beat. */
const copiesOf = (db: Executor, networkId: string, interactionIds: string[]) =>
  db
    .selectFrom('utterances')
    .where('network_id', '=', networkId)
    .where((eb) =>
      eb.or([
        eb('interaction_id', 'in', interactionIds),
        eb(
          'winner_id',
          'in',
          eb
            .selectFrom('utterances as w')
            .select('w.id')
            .where('w.network_id', '=', networkId)
            .where('w.interaction_id', 'in', interactionIds),
        ),
      ]),
    );

/** The storage keys of the audio of these interactions' copies (to delete from `shared/storage`). */
export async function audioKeysOf(db: Executor, networkId: string, interactionIds: string[]) {
  if (interactionIds.length === 0) return [];
  const rows = await copiesOf(db, networkId, interactionIds)
    .select('audio_key')
    .where('audio_key', 'is not', null)
    .execute();
  return rows.map((r) => r.audio_key!);
}

export interface ErasureOptions {
  /**
   * Retention: an action still to do (pending or confirmed) outlives the words it came from, unlinked from
   * them, and so does a confirmed memory (the household agreed on it). `forget` takes both with it.
   */
  keepOpen: boolean;
}

export interface Erased {
  interactions: { id: string; conversation_id: string | null }[];
  memories: EpisodicMemory[];
  actions: { id: string }[];
}

/**
 * Deletes interactions (and, by their foreign keys, their embeddings) with what was derived from them: the
 * memories whose provenance names one, those memories' actions and the interactions' own actions, the
 * register copies. Call it in a transaction; it returns what is gone, for the events.
 */
export async function eraseInteractions(
  db: Executor,
  networkId: string,
  interactionIds: string[],
  options: ErasureOptions,
): Promise<Erased> {
  if (interactionIds.length === 0) return { interactions: [], memories: [], actions: [] };
  let derived = db
    .selectFrom('episodic_memories')
    .select('id')
    .where('network_id', '=', networkId)
    .where(sql<boolean>`provenance->'interaction_ids' ?| ${sql.val(interactionIds)}::text[]`);
  if (options.keepOpen) derived = derived.where('status', '<>', 'confirmed');
  const memoryIds = (await derived.execute()).map((m) => m.id);

  if (options.keepOpen)
    await db
      .updateTable('actions')
      .set({ interaction_id: null, updated_at: sql<Date>`now()` })
      .where('network_id', '=', networkId)
      .where('interaction_id', 'in', interactionIds)
      .where('status', 'in', ['pending', 'confirmed'])
      .execute();
  // Deleting a memory only unlinks its action, and an interaction's actions would go by the cascade
  // unannounced: both are deleted here, so the caller knows which.
  let doomed = db
    .deleteFrom('actions')
    .where('network_id', '=', networkId)
    .where((eb) =>
      eb.or([
        eb('interaction_id', 'in', interactionIds),
        ...(memoryIds.length ? [eb('memory_id', 'in', memoryIds)] : []),
      ]),
    );
  if (options.keepOpen) doomed = doomed.where('status', 'not in', ['pending', 'confirmed']);
  const actions = await doomed.returning('id').execute();
  const memories = memoryIds.length
    ? await db.deleteFrom('episodic_memories').where('id', 'in', memoryIds).returningAll().execute()
    : [];
  await db
    .deleteFrom('utterances')
    .where('id', 'in', copiesOf(db, networkId, interactionIds).select('id'))
    .execute();
  const interactions = await db
    .deleteFrom('interactions')
    .where('network_id', '=', networkId)
    .where('id', 'in', interactionIds)
    .returning(['id', 'conversation_id'])
    .execute();
  return { interactions, memories, actions };
}

/**
 * The summaries of these conversations were written from words that are gone: they are cleared (with
 * their search embedding) and marked due, so the sweep writes them again from what is left.
 */
export async function invalidateSummaries(db: Executor, networkId: string, conversationIds: string[]) {
  if (conversationIds.length === 0) return;
  await db.deleteFrom('embeddings').where('conversation_id', 'in', conversationIds).execute();
  await db
    .updateTable('conversations')
    .set({
      title: null,
      topic_summary: null,
      context_summary: null,
      summarized_through: null,
      updated_at: sql<Date>`now()`,
    })
    .where('network_id', '=', networkId)
    .where('id', 'in', conversationIds)
    .execute();
}

// ---- retention (the network setting `retention_days`) ----

/** The networks that keep their history for a limited time, with how many days. */
export async function networksWithRetention(db: Executor) {
  const rows = await db
    .selectFrom('networks')
    .select(['id', sql<unknown>`settings->'retention_days'`.as('days')])
    .where(sql<boolean>`settings ? 'retention_days'`)
    .execute();
  return rows.flatMap((r) => {
    const days = Number(r.days);
    return Number.isInteger(days) && days > 0 ? [{ networkId: r.id, days }] : [];
  });
}

/** The network's oldest interactions from before `cutoff`, at most `limit`. */
export const interactionsBefore = async (db: Executor, networkId: string, cutoff: Date, limit: number) =>
  (
    await db
      .selectFrom('interactions')
      .select('id')
      .where('network_id', '=', networkId)
      .where('timestamp', '<', cutoff)
      .orderBy('timestamp')
      .orderBy('id')
      .limit(limit)
      .execute()
  ).map((r) => r.id);

/**
 * Register copies from before `cutoff` that no interaction holds any more (dropped or failed copies, or
 * the copy of an interaction deleted by hand), with their audio keys. Copies still in the pipeline stay.
 */
export const strayCopiesBefore = (db: Executor, networkId: string, cutoff: Date, limit: number) =>
  db
    .selectFrom('utterances')
    .select(['id', 'audio_key'])
    .where('network_id', '=', networkId)
    .where('captured_at', '<', cutoff)
    .where('interaction_id', 'is', null)
    .where('status', 'not in', ['accepted', 'processing'])
    .orderBy('captured_at')
    .limit(limit)
    .execute();

export const deleteCopies = async (db: Executor, networkId: string, ids: string[]) => {
  if (ids.length === 0) return;
  // A copy another one names as its winner is deleted with it: unlink first.
  await db.updateTable('utterances').set({ winner_id: null }).where('winner_id', 'in', ids).execute();
  await db.deleteFrom('utterances').where('network_id', '=', networkId).where('id', 'in', ids).execute();
};

/**
 * Deletes the conversations that ended before `cutoff` and have no interaction left, with their summaries
 * (and summary embeddings). What outlives them, unlinked: a confirmed memory and an action still to do.
 */
export async function deleteEmptyConversationsBefore(
  db: Executor,
  networkId: string,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const empty = (
    await db
      .selectFrom('conversations as c')
      .select('c.id')
      .where('c.network_id', '=', networkId)
      .where('c.is_active', '=', false)
      .where('c.last_interaction_at', '<', cutoff)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb.selectFrom('interactions as i').select('i.id').whereRef('i.conversation_id', '=', 'c.id'),
          ),
        ),
      )
      .limit(limit)
      .execute()
  ).map((r) => r.id);
  if (empty.length === 0) return 0;
  await db
    .updateTable('episodic_memories')
    .set({ source_conversation_id: null, updated_at: sql<Date>`now()` })
    .where('source_conversation_id', 'in', empty)
    .where('status', '=', 'confirmed')
    .execute();
  await db
    .updateTable('actions')
    .set({ conversation_id: null, updated_at: sql<Date>`now()` })
    .where('conversation_id', 'in', empty)
    .where('status', 'in', ['pending', 'confirmed'])
    .execute();
  await db.deleteFrom('conversations').where('id', 'in', empty).execute();
  return empty.length;
}
