import { sql } from 'kysely';
import type { Executor } from '../transaction';
import type { Entity, Interaction, InteractionType, JsonObject } from '../types';

/** The columns answers show (embeddings and idempotency keys stay inside). */
const visible = [
  'id',
  'network_id',
  'conversation_id',
  'person_id',
  'client_id',
  'interaction_type',
  'text',
  'language',
  'timestamp',
  'sentiment',
  'entities',
  'topics',
  'metadata',
  'is_command',
  'audio_score',
  'created_at',
] as const;

export type InteractionView = Pick<Interaction, (typeof visible)[number]>;

export interface NewInteraction {
  networkId: string;
  conversationId: string | null;
  personId: string | null;
  clientId?: string | null;
  interactionType: InteractionType;
  text: string;
  timestamp?: Date;
  language?: string | null;
  sentiment?: number | null;
  entities?: Entity[];
  topics?: string[];
  metadata?: JsonObject;
  voiceEmbedding?: number[] | null;
  isCommand?: boolean;
  audioScore?: number | null;
  idempotencyKey?: string | null;
}

/**
 * Stores an interaction. References (person, conversation, client) must already be checked to belong to
 * `networkId`; call it in the transaction that placed the interaction in its conversation.
 */
export const insertInteraction = (db: Executor, interaction: NewInteraction): Promise<InteractionView> =>
  db
    .insertInto('interactions')
    .values({
      network_id: interaction.networkId,
      conversation_id: interaction.conversationId,
      person_id: interaction.personId,
      client_id: interaction.clientId ?? null,
      interaction_type: interaction.interactionType,
      text: interaction.text,
      timestamp: interaction.timestamp ?? sql<Date>`now()`,
      language: interaction.language ?? null,
      sentiment: interaction.sentiment ?? null,
      entities: JSON.stringify(interaction.entities ?? []),
      topics: JSON.stringify(interaction.topics ?? []),
      metadata: JSON.stringify(interaction.metadata ?? {}),
      voice_embedding: interaction.voiceEmbedding ?? null,
      is_command: interaction.isCommand ?? false,
      audio_score: interaction.audioScore ?? null,
      idempotency_key: interaction.idempotencyKey ?? null,
    })
    .returning(visible)
    .executeTakeFirstOrThrow();

export interface InteractionFilter {
  personId?: string;
  conversationId?: string;
  /** Interactions of any of these conversations. */
  conversationIds?: string[];
  /** Only interactions without a conversation. */
  orphansOnly?: boolean;
  limit: number;
  offset: number;
}

/** Newest first. */
export const listInteractions = (db: Executor, networkId: string, filter: InteractionFilter) => {
  let query = db.selectFrom('interactions').select(visible).where('network_id', '=', networkId);
  if (filter.personId) query = query.where('person_id', '=', filter.personId);
  if (filter.conversationId) query = query.where('conversation_id', '=', filter.conversationId);
  if (filter.conversationIds?.length) query = query.where('conversation_id', 'in', filter.conversationIds);
  if (filter.orphansOnly) query = query.where('conversation_id', 'is', null);
  return query
    .orderBy('timestamp', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .offset(filter.offset)
    .execute() as Promise<InteractionView[]>;
};

export const findInteraction = (
  db: Executor,
  networkId: string,
  interactionId: string,
): Promise<InteractionView | undefined> =>
  db
    .selectFrom('interactions')
    .select(visible)
    .where('network_id', '=', networkId)
    .where('id', '=', interactionId)
    .executeTakeFirst();

/** Deletes an interaction; its actions go with it (ON DELETE CASCADE). */
export const deleteInteraction = async (db: Executor, networkId: string, interactionId: string) => {
  const result = await db
    .deleteFrom('interactions')
    .where('network_id', '=', networkId)
    .where('id', '=', interactionId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
};
