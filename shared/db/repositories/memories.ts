import { sql } from 'kysely';
import type { Executor } from '../transaction';
import type {
  Action,
  ActionType,
  EpisodicMemory,
  JsonObject,
  MemoryStatus,
  MemoryTransition,
  MemoryType,
} from '../types';

/** A memory with the id of the action made from it (linked both ways: `actions.memory_id`). */
export interface MemoryView extends EpisodicMemory {
  action_id: string | null;
}

/** Memories with their action's id (`MemoryView`), for a query to filter and order. */
export const withAction = (db: Executor) =>
  db
    .selectFrom('episodic_memories as m')
    .leftJoin('actions as a', 'a.memory_id', 'm.id')
    .selectAll('m')
    .select('a.id as action_id');

export interface MemoryFilter {
  limit: number;
  offset: number;
  status?: MemoryStatus;
  memoryType?: MemoryType;
  personId?: string;
}

/** Newest first. */
export function listMemories(db: Executor, networkId: string, filter: MemoryFilter): Promise<MemoryView[]> {
  let query = withAction(db).where('m.network_id', '=', networkId);
  if (filter.status) query = query.where('m.status', '=', filter.status);
  if (filter.memoryType) query = query.where('m.memory_type', '=', filter.memoryType);
  if (filter.personId)
    query = query.where(
      sql<boolean>`m.participant_person_ids @> ${JSON.stringify([filter.personId])}::jsonb`,
    );
  return query
    .orderBy('m.created_at', 'desc')
    .orderBy('m.id', 'desc')
    .limit(filter.limit)
    .offset(filter.offset)
    .execute();
}

export const findMemory = (db: Executor, networkId: string, memoryId: string) =>
  withAction(db).where('m.network_id', '=', networkId).where('m.id', '=', memoryId).executeTakeFirst();

/** Locks the memory row for a change in this transaction. */
export const lockMemory = (db: Executor, networkId: string, memoryId: string) =>
  db
    .selectFrom('episodic_memories')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('id', '=', memoryId)
    .forUpdate()
    .executeTakeFirst();

/** Memories still in force (proposed or confirmed) that a conversation may confirm or cancel, newest first. */
export const listOpenMemories = (db: Executor, networkId: string, limit: number) =>
  db
    .selectFrom('episodic_memories')
    .select(['id', 'memory_type', 'canonical_text', 'proposed_start_at', 'status'])
    .where('network_id', '=', networkId)
    .where('status', 'in', ['proposed', 'confirmed'])
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();

export interface NewMemory {
  networkId: string;
  conversationId: string | null;
  memoryType: MemoryType;
  canonicalText: string;
  actionKind: ActionType | null;
  participantPersonIds: string[];
  proposedStartAt: Date | null;
  proposedEndAt: Date | null;
  expiresAt: Date | null;
  confidence: number | null;
  provenance: JsonObject;
  transition: MemoryTransition;
  /** Same key in the same conversation: the stored memory is updated instead of a second one. */
  dedupeKey: string | null;
}

/**
 * Stores a memory, or (same conversation, same dedupe key) refreshes the one stored by an earlier summary:
 * its text, times and provenance; its status and history stay. `created` tells which happened.
 */
export async function upsertMemory(
  db: Executor,
  memory: NewMemory,
): Promise<{ memory: EpisodicMemory; created: boolean }> {
  const values = {
    network_id: memory.networkId,
    source_conversation_id: memory.conversationId,
    memory_type: memory.memoryType,
    canonical_text: memory.canonicalText,
    action_kind: memory.actionKind,
    participant_person_ids: JSON.stringify(memory.participantPersonIds),
    proposed_start_at: memory.proposedStartAt,
    proposed_end_at: memory.proposedEndAt,
    expires_at: memory.expiresAt,
    confidence: memory.confidence,
    provenance: JSON.stringify(memory.provenance),
    transition_history: JSON.stringify([memory.transition]),
    dedupe_key: memory.dedupeKey,
  };
  if (!memory.dedupeKey) {
    const row = await db
      .insertInto('episodic_memories')
      .values(values)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { memory: row, created: true };
  }
  const row = await db
    .insertInto('episodic_memories')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['network_id', 'source_conversation_id', 'dedupe_key'])
        .where('dedupe_key', 'is not', null)
        .doUpdateSet({
          canonical_text: (eb) => eb.ref('excluded.canonical_text'),
          action_kind: (eb) => eb.ref('excluded.action_kind'),
          participant_person_ids: (eb) => eb.ref('excluded.participant_person_ids'),
          proposed_start_at: (eb) => eb.ref('excluded.proposed_start_at'),
          proposed_end_at: (eb) => eb.ref('excluded.proposed_end_at'),
          expires_at: (eb) => eb.ref('excluded.expires_at'),
          confidence: (eb) => eb.ref('excluded.confidence'),
          provenance: (eb) => eb.ref('excluded.provenance'),
          updated_at: sql<Date>`now()`,
        }),
    )
    .returningAll()
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .executeTakeFirstOrThrow();
  const { inserted, ...stored } = row;
  return { memory: stored, created: Boolean(inserted) };
}

/** Changes a memory's status and/or text, appending the transition to its history. */
export const updateMemory = (
  db: Executor,
  networkId: string,
  memoryId: string,
  change: { status?: MemoryStatus; canonicalText?: string; transition: MemoryTransition },
) =>
  db
    .updateTable('episodic_memories')
    .set({
      ...(change.status ? { status: change.status } : {}),
      ...(change.canonicalText !== undefined ? { canonical_text: change.canonicalText } : {}),
      transition_history: sql`transition_history || ${JSON.stringify([change.transition])}::jsonb`,
      updated_at: sql<Date>`now()`,
    })
    .where('network_id', '=', networkId)
    .where('id', '=', memoryId)
    .returningAll()
    .executeTakeFirst();

export const deleteMemory = async (db: Executor, networkId: string, memoryId: string) =>
  (
    await db
      .deleteFrom('episodic_memories')
      .where('network_id', '=', networkId)
      .where('id', '=', memoryId)
      .executeTakeFirst()
  ).numDeletedRows > 0n;

/** Memories in force whose `expires_at` has passed, across networks (the sweep), marked expired. */
export const expireMemories = (db: Executor, now: Date, limit = 500) =>
  db
    .updateTable('episodic_memories')
    .set({
      status: 'expired',
      transition_history: sql`transition_history || jsonb_build_array(jsonb_build_object(
        'from', status, 'to', 'expired', 'reason', 'its time has passed', 'at', ${now.toISOString()}::text,
        'source', 'expiry'))`,
      updated_at: sql<Date>`now()`,
    })
    .where(
      'id',
      'in',
      db
        .selectFrom('episodic_memories')
        .select('id')
        .where('status', 'in', ['proposed', 'confirmed'])
        .where('expires_at', '<', now)
        .limit(limit),
    )
    .returningAll()
    .execute();

export interface MemoryActionInput {
  networkId: string;
  memoryId: string;
  actionType: ActionType;
  details: string;
  personId: string | null;
  interactionId: string | null;
  conversationId: string | null;
  scheduledTime: Date | null;
  payload: JsonObject;
}

/**
 * The action of a memory, created once and then kept in step with it (text, time, owner): the unique
 * `memory_id` makes a second summary or an edit update the same row, never add another.
 */
export const upsertMemoryAction = (db: Executor, input: MemoryActionInput): Promise<Action> =>
  db
    .insertInto('actions')
    .values({
      network_id: input.networkId,
      memory_id: input.memoryId,
      action_type: input.actionType,
      details: input.details,
      payload: JSON.stringify(input.payload),
      person_id: input.personId,
      interaction_id: input.interactionId,
      conversation_id: input.conversationId,
      scheduled_time: input.scheduledTime,
      origin: 'inference',
    })
    .onConflict((oc) =>
      oc
        .column('memory_id')
        .where('memory_id', 'is not', null)
        .doUpdateSet({
          action_type: (eb) => eb.ref('excluded.action_type'),
          details: (eb) => eb.ref('excluded.details'),
          payload: (eb) => eb.ref('excluded.payload'),
          person_id: (eb) => eb.ref('excluded.person_id'),
          scheduled_time: (eb) => eb.ref('excluded.scheduled_time'),
          updated_at: sql<Date>`now()`,
        }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();

export const findMemoryAction = (db: Executor, memoryId: string) =>
  db.selectFrom('actions').selectAll().where('memory_id', '=', memoryId).executeTakeFirst();

/** The memory's action follows it: a cancelled or expired memory dismisses it, a confirmed one confirms it. */
export const setMemoryActionStatus = (db: Executor, memoryId: string, status: 'confirmed' | 'dismissed') =>
  db
    .updateTable('actions')
    .set({ status, updated_at: sql<Date>`now()` })
    .where('memory_id', '=', memoryId)
    .where('status', 'in', ['pending', 'confirmed'])
    .returningAll()
    .executeTakeFirst();
