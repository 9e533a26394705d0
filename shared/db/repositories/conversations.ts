import { sql } from 'kysely';
import { mergeTopics, startsNewConversationByTopic } from '../../domain/conversation-topics';
import { inTransaction, advisoryLock, type Executor } from '../transaction';
import type { Conversation } from '../types';

export interface ConversationWithParticipants extends Conversation {
  /** Person ids, in the order they joined. */
  participants: string[];
}

/** The participants of each conversation, in the order they joined. */
export const participantsOf = async (
  db: Executor,
  conversationIds: string[],
): Promise<Map<string, string[]>> => {
  const byConversation = new Map<string, string[]>(conversationIds.map((id) => [id, []]));
  if (!conversationIds.length) return byConversation;
  const rows = await db
    .selectFrom('conversation_participants')
    .select(['conversation_id', 'person_id'])
    .where('conversation_id', 'in', conversationIds)
    .orderBy('joined_at')
    .orderBy('person_id')
    .execute();
  for (const row of rows) byConversation.get(row.conversation_id)!.push(row.person_id);
  return byConversation;
};

/** Newest first (by start), with their participants. */
export async function listConversations(
  db: Executor,
  networkId: string,
  page: { limit: number; offset: number },
): Promise<ConversationWithParticipants[]> {
  const rows = await db
    .selectFrom('conversations')
    .selectAll()
    .where('network_id', '=', networkId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const participants = await participantsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({ ...r, participants: participants.get(r.id)! }));
}

/** A conversation of this network; undefined for an unknown id or one of another network. */
export async function findConversation(
  db: Executor,
  networkId: string,
  conversationId: string,
): Promise<ConversationWithParticipants | undefined> {
  const row = await db
    .selectFrom('conversations')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('id', '=', conversationId)
    .executeTakeFirst();
  if (!row) return undefined;
  return { ...row, participants: (await participantsOf(db, [row.id])).get(row.id)! };
}

export const conversationExists = async (db: Executor, networkId: string, conversationId: string) =>
  !!(await db
    .selectFrom('conversations')
    .select('id')
    .where('network_id', '=', networkId)
    .where('id', '=', conversationId)
    .executeTakeFirst());

/** Adds a person to a conversation's participants (idempotent). */
export const addParticipant = async (db: Executor, conversationId: string, personId: string, at: Date) => {
  await db
    .insertInto('conversation_participants')
    .values({ conversation_id: conversationId, person_id: personId, joined_at: at })
    .onConflict((oc) => oc.columns(['conversation_id', 'person_id']).doNothing())
    .execute();
};

export interface Utterance {
  networkId: string;
  /** The speaker, when recognised; must belong to the network. */
  personId: string | null;
  timestamp: Date;
  /** The utterance's topics (from the enrichment); they join the conversation's and steer the boundary. */
  topics?: string[];
}

/**
 * Records an utterance in a known conversation: it becomes the last one heard (unless it arrived late),
 * and its speaker joins the participants. The caller has checked that the conversation is the network's.
 */
export async function joinConversation(
  db: Executor,
  conversationId: string,
  utterance: Utterance,
): Promise<void> {
  let topics: string[] | undefined;
  if (utterance.topics?.length) {
    // Locked, so concurrent joins do not lose each other's topics.
    const row = await db
      .selectFrom('conversations')
      .select('topics')
      .where('id', '=', conversationId)
      .forUpdate()
      .executeTakeFirst();
    topics = mergeTopics(row?.topics ?? [], utterance.topics);
  }
  await db
    .updateTable('conversations')
    .set({
      ...(topics ? { topics: JSON.stringify(topics) } : {}),
      last_interaction_at: sql<Date>`greatest(last_interaction_at, ${utterance.timestamp})`,
      last_speaker_id: sql<string | null>`CASE WHEN ${utterance.timestamp} >= last_interaction_at
        THEN coalesce(${utterance.personId}::uuid, last_speaker_id) ELSE last_speaker_id END`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', conversationId)
    .execute();
  if (utterance.personId) await addParticipant(db, conversationId, utterance.personId, utterance.timestamp);
}

/**
 * Places an utterance in a conversation by the boundary rules of `shared/domain/conversation-boundaries`
 * and, when the utterance has topics, `shared/domain/conversation-topics`:
 * it continues the network's latest open conversation, or closes it and starts a new one. Runs under a
 * per-network lock, so concurrent utterances (from several Lambdas) agree on one conversation.
 * Returns the conversation id, whether it was created, and the conversation that it ended. Use it inside the transaction that stores the interaction.
 */
export const assignConversation = (
  db: Executor,
  utterance: Utterance,
): Promise<{ conversationId: string; created: boolean; endedId?: string }> =>
  inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'conversationAssignment', utterance.networkId);
    const latest = await trx
      .selectFrom('conversations')
      .select(['id', 'last_interaction_at', 'last_speaker_id', 'is_active', 'topics'])
      .where('network_id', '=', utterance.networkId)
      .where('is_active', '=', true)
      .orderBy('last_interaction_at', 'desc')
      .orderBy('id', 'desc')
      // One probe of conversations_network_active_latest_idx (migration 0040), not a scan of the history.
      .limit(1)
      .executeTakeFirst();
    const opensNew = startsNewConversationByTopic(
      latest && {
        lastInteractionAt: new Date(latest.last_interaction_at),
        lastSpeakerId: latest.last_speaker_id,
        isActive: latest.is_active,
        topics: latest.topics ?? [],
      },
      { timestamp: utterance.timestamp, speakerId: utterance.personId, topics: utterance.topics ?? [] },
    );
    if (latest && !opensNew) {
      await joinConversation(trx, latest.id, utterance);
      return { conversationId: latest.id, created: false };
    }
    if (latest) {
      await trx
        .updateTable('conversations')
        .set({ is_active: false, ended_at: sql<Date>`last_interaction_at`, updated_at: sql<Date>`now()` })
        .where('id', '=', latest.id)
        .execute();
    }
    const { id } = await trx
      .insertInto('conversations')
      .values({
        network_id: utterance.networkId,
        topics: JSON.stringify(mergeTopics([], utterance.topics ?? [])),
        started_at: utterance.timestamp,
        last_interaction_at: utterance.timestamp,
        last_speaker_id: utterance.personId,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (utterance.personId) await addParticipant(trx, id, utterance.personId, utterance.timestamp);
    return { conversationId: id, created: true, ...(latest ? { endedId: latest.id } : {}) };
  });

/**
 * Deletes a conversation with its interactions and their actions, in one transaction.
 * Returns undefined when it is not in this network.
 */
export const deleteConversation = (
  db: Executor,
  networkId: string,
  conversationId: string,
): Promise<{ interactions: number; actions: number } | undefined> =>
  inTransaction(db, async (trx) => {
    const conversation = await trx
      .selectFrom('conversations')
      .select('id')
      .where('network_id', '=', networkId)
      .where('id', '=', conversationId)
      .forUpdate()
      .executeTakeFirst();
    if (!conversation) return undefined;
    const interactionIds = trx
      .selectFrom('interactions')
      .select('id')
      .where('conversation_id', '=', conversationId);
    const actions = await trx
      .deleteFrom('actions')
      .where((eb) =>
        eb.or([eb('conversation_id', '=', conversationId), eb('interaction_id', 'in', interactionIds)]),
      )
      .executeTakeFirst();
    const interactions = await trx
      .deleteFrom('interactions')
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    await trx.deleteFrom('conversations').where('id', '=', conversationId).execute();
    return { interactions: Number(interactions.numDeletedRows), actions: Number(actions.numDeletedRows) };
  });
