import { sql } from 'kysely';
import type { Executor } from '../transaction';

/**
 * What the conversation summaries need: which conversations are due (ended, or open with enough new
 * utterances), the quiet ones to end, and writing a summary with how far it got.
 */

/**
 * Ends, across networks, the open conversations quiet since before `quietBefore` (the boundary rules would
 * start a new one for the next utterance anyway). Returns their ids and networks.
 */
export const endQuietConversations = (db: Executor, quietBefore: Date, limit = 200) =>
  db
    .updateTable('conversations')
    .set({ is_active: false, ended_at: sql<Date>`last_interaction_at`, updated_at: sql<Date>`now()` })
    .where(
      'id',
      'in',
      db
        .selectFrom('conversations')
        .select('id')
        .where('is_active', '=', true)
        .where('last_interaction_at', '<', quietBefore)
        .limit(limit),
    )
    .returning(['id', 'network_id'])
    .execute();

/**
 * Conversations whose summary is behind: ended ones with utterances after their summary, and open ones
 * with at least `rollingEvery` utterances after it (the rolling summary). Oldest first.
 */
export async function conversationsDueForSummary(
  db: Executor,
  options: { rollingEvery: number; limit: number; networkId?: string },
): Promise<{ id: string; network_id: string }[]> {
  let query = db
    .selectFrom('conversations as c')
    .select(['c.id', 'c.network_id'])
    .where((eb) =>
      eb.or([
        eb('c.summarized_through', 'is', null),
        eb('c.summarized_through', '<', eb.ref('c.last_interaction_at')),
      ]),
    )
    .where((eb) =>
      eb.or([
        eb('c.is_active', '=', false),
        eb(
          eb
            .selectFrom('interactions as i')
            .select(sql<number>`count(*)::int`.as('n'))
            .whereRef('i.conversation_id', '=', 'c.id')
            .where(sql<boolean>`i.timestamp > coalesce(c.summarized_through, '-infinity'::timestamptz)`),
          '>=',
          options.rollingEvery,
        ),
      ]),
    );
  if (options.networkId) query = query.where('c.network_id', '=', options.networkId);
  return query.orderBy('c.last_interaction_at').limit(options.limit).execute();
}

/** The conversation's utterances in order (at most `limit`, the latest ones). */
export async function conversationUtterances(db: Executor, conversationId: string, limit: number) {
  const rows = await db
    .selectFrom('interactions')
    .select(['id', 'person_id', 'text', 'timestamp', 'interaction_type'])
    .where('conversation_id', '=', conversationId)
    .orderBy('timestamp', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse();
}

/** Writes the summaries, unless a summary that covers later utterances was written meanwhile. */
export const saveSummary = (
  db: Executor,
  conversationId: string,
  summary: { title: string; topicSummary: string; contextSummary: string; through: Date },
) =>
  db
    .updateTable('conversations')
    .set({
      title: summary.title,
      topic_summary: summary.topicSummary,
      context_summary: summary.contextSummary,
      summarized_through: summary.through,
      summarized_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', conversationId)
    .where((eb) =>
      eb.or([eb('summarized_through', 'is', null), eb('summarized_through', '<=', summary.through)]),
    )
    .returning('id')
    .executeTakeFirst();
