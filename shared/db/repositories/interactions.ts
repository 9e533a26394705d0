import { sql } from 'kysely';
import type { Executor } from '../transaction';
import type { Entity, Interaction, InteractionType, JsonObject } from '../types';

/** The columns answers show (embeddings and idempotency keys stay inside). */
export const interactionColumns = [
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

export type InteractionView = Pick<Interaction, (typeof interactionColumns)[number]>;

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
    .returning(interactionColumns)
    .executeTakeFirstOrThrow();

export interface InteractionFilter {
  personId?: string;
  conversationId?: string;
  /** Interactions of any of these conversations. */
  conversationIds?: string[];
  /** Only interactions without a conversation. */
  orphansOnly?: boolean;
  /** Keyset pagination: only interactions after this position (older), from `nextCursor` of a page. */
  before?: InteractionCursor;
  limit: number;
  offset: number;
}

/**
 * A position in the newest-first order: the interaction's timestamp to the microsecond (as the database
 * stores it; a JavaScript Date would round it, and rows of the same millisecond would be skipped or
 * repeated) and its id, which breaks ties.
 */
export interface InteractionCursor {
  at: string;
  id: string;
}

const CURSOR_FORMAT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f-]{36})$/i;

/** The opaque `before` token a client sends back: base64url of `timestamp|id`. */
export const encodeInteractionCursor = (cursor: InteractionCursor): string =>
  Buffer.from(`${cursor.at}|${cursor.id}`, 'utf8').toString('base64url');

/** The position a `before` token stands for; undefined for anything this server did not hand out. */
export const decodeInteractionCursor = (token: string): InteractionCursor | undefined => {
  const match = CURSOR_FORMAT.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match || Number.isNaN(Date.parse(match[1]))) return undefined;
  return { at: match[1], id: match[2].toLowerCase() };
};

/** Newest first. */
const interactionPage = (db: Executor, networkId: string, filter: InteractionFilter) => {
  let query = db.selectFrom('interactions').select(interactionColumns).where('network_id', '=', networkId);
  if (filter.personId) query = query.where('person_id', '=', filter.personId);
  if (filter.conversationId) query = query.where('conversation_id', '=', filter.conversationId);
  if (filter.conversationIds?.length) query = query.where('conversation_id', 'in', filter.conversationIds);
  if (filter.orphansOnly) query = query.where('conversation_id', 'is', null);
  // A row comparison in the index's own order: the index scan starts at the cursor, whatever its depth.
  if (filter.before)
    query = query.where(
      sql<boolean>`(timestamp, id) < (${filter.before.at}::timestamptz, ${filter.before.id}::uuid)`,
    );
  return query.orderBy('timestamp', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset);
};

/** Newest first. */
export const listInteractions = (db: Executor, networkId: string, filter: InteractionFilter) =>
  interactionPage(db, networkId, filter).execute() as Promise<InteractionView[]>;

/**
 * A page of interactions, newest first, with the cursor of the next (older) page when this one is full:
 * keyset pagination, whose last page at 100k interactions costs what its first does (an offset page
 * reads and discards every row before it).
 */
export async function listInteractionsPage(
  db: Executor,
  networkId: string,
  filter: InteractionFilter,
): Promise<{ rows: InteractionView[]; nextCursor: string | undefined }> {
  const rows = await interactionPage(db, networkId, filter)
    .select(
      sql<string>`to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'),
    )
    .execute();
  const last = rows.at(-1);
  const nextCursor =
    last && rows.length === filter.limit
      ? encodeInteractionCursor({ at: last.cursor_at, id: last.id })
      : undefined;
  return { rows: rows.map(({ cursor_at: _, ...row }) => row), nextCursor };
}

export const findInteraction = (
  db: Executor,
  networkId: string,
  interactionId: string,
): Promise<InteractionView | undefined> =>
  db
    .selectFrom('interactions')
    .select(interactionColumns)
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
