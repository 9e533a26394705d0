import {
  networkTimeZone,
  parseLocalDateTime,
  summarizeConversation,
  type ExtractedMemory,
} from '../../shared/ai';
import type { Db } from '../../shared/db/client';
import { findConversation } from '../../shared/db/repositories/conversations';
import {
  findMemory,
  listOpenMemories,
  lockMemory,
  setMemoryActionStatus,
  updateMemory,
  upsertMemory,
  upsertMemoryAction,
  findMemoryAction,
} from '../../shared/db/repositories/memories';
import { listPersons } from '../../shared/db/repositories/persons';
import { conversationUtterances, saveSummary } from '../../shared/db/repositories/summaries';
import { advisoryLock, inTransaction, type Executor } from '../../shared/db/transaction';
import type {
  Action,
  ActionType,
  EpisodicMemory,
  MemoryStatus,
  MemoryTransition,
} from '../../shared/db/types';
import { memoryNotFound } from '../../shared/errors';
import { countMetric, logger } from '../../shared/observability';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { toAction } from '../actions/schemas';
import { toConversation } from '../conversations/schemas';
import { toMemory } from './schemas';

/** The model reads at most this many utterances of one conversation (the latest) per summary. */
const SUMMARY_UTTERANCES = 200;
/** Earlier memories shown to the model so it can confirm or cancel them. */
const OPEN_MEMORIES = 30;

/** What a change did, to be announced once it has committed. */
interface Changes {
  memories: Map<string, EpisodicMemory>;
  actions: Map<string, Action>;
}

const newChanges = (): Changes => ({ memories: new Map(), actions: new Map() });

/** After the commit: each changed memory and action, as GET P/memories and GET P/actions answer them. */
async function announce(db: Db, networkId: string, changes: Changes): Promise<void> {
  for (const id of changes.memories.keys()) {
    const memory = await findMemory(db, networkId, id);
    if (memory) await publishToNetwork(db, networkId, { event: 'episodic_memory', data: toMemory(memory) });
  }
  for (const action of changes.actions.values())
    await publishToNetwork(db, networkId, { event: 'action', data: toAction(action) });
}

/** The action a memory asks for, when it has a time: commitments remind, plans schedule. */
function actionTypeOf(memory: EpisodicMemory): ActionType | undefined {
  if (!memory.proposed_start_at) return undefined;
  if (memory.memory_type !== 'commitment' && memory.memory_type !== 'plan') return undefined;
  return memory.action_kind ?? (memory.memory_type === 'plan' ? 'schedule' : 'remind');
}

/** Creates or refreshes the memory's linked action (one per memory, by the unique `memory_id`). */
async function syncAction(trx: Executor, memory: EpisodicMemory, changes: Changes): Promise<void> {
  const actionType = actionTypeOf(memory);
  if (!actionType) return;
  const interactionIds = (memory.provenance.interaction_ids as string[] | undefined) ?? [];
  const action = await upsertMemoryAction(trx, {
    networkId: memory.network_id,
    memoryId: memory.id,
    actionType,
    details: memory.canonical_text,
    personId: memory.participant_person_ids[0] ?? null,
    interactionId: interactionIds.at(-1) ?? null,
    conversationId: memory.source_conversation_id,
    scheduledTime: memory.proposed_start_at,
    payload: {
      title: memory.canonical_text,
      memory_id: memory.id,
      memory_type: memory.memory_type,
      participant_person_ids: memory.participant_person_ids,
      source: 'memory',
    },
  });
  changes.actions.set(action.id, action);
}

/** A memory's action follows its status: cancelled or expired dismisses it, confirmed confirms it. */
async function followStatus(trx: Executor, memory: EpisodicMemory, changes: Changes): Promise<void> {
  const status =
    memory.status === 'confirmed'
      ? 'confirmed'
      : memory.status === 'cancelled' || memory.status === 'expired'
        ? 'dismissed'
        : undefined;
  if (!status) return;
  const action = await setMemoryActionStatus(trx, memory.id, status);
  if (action) changes.actions.set(action.id, action);
}

const dedupeKey = (memory: ExtractedMemory): string =>
  `${memory.memory_type}:${memory.canonical_text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()}`;

/**
 * Summarises one conversation (or brings its rolling summary up to date): one model call, then in one
 * transaction the summaries, new memories with their actions, and the earlier memories it confirmed or
 * cancelled; events after the commit. Returns false when there was nothing to summarise.
 */
export async function summarizeConversationNow(
  db: Db,
  networkId: string,
  conversationId: string,
): Promise<boolean> {
  const conversation = await findConversation(db, networkId, conversationId);
  if (!conversation) return false;
  const [utterances, persons, openMemories, timeZone] = await Promise.all([
    conversationUtterances(db, conversationId, SUMMARY_UTTERANCES),
    listPersons(db, networkId),
    listOpenMemories(db, networkId, OPEN_MEMORIES),
    networkTimeZone(db, networkId),
  ]);
  if (utterances.length === 0) return false;
  const names = new Map(persons.map((p) => [p.id, p.name]));
  const through = new Date(utterances.at(-1)!.timestamp);

  const summary = await summarizeConversation({
    timeZone,
    previous: conversation.summarized_through ? conversation : undefined,
    utterances: utterances.map((u) => ({
      id: u.id,
      timestamp: new Date(u.timestamp),
      speakerId: u.person_id,
      speakerName: u.person_id ? names.get(u.person_id) : undefined,
      text: u.text,
    })),
    openMemories: openMemories.map((m) => ({ ...m, proposed_start_at: m.proposed_start_at })),
    people: persons.map((p) => ({ id: p.id, name: p.name })),
  });

  const utteranceIds = new Set(utterances.map((u) => u.id));
  const openIds = new Set(openMemories.map((m) => m.id));
  const time = (value: string | null) => (value ? (parseLocalDateTime(value, timeZone) ?? null) : null);
  const changes = newChanges();
  const now = new Date().toISOString();

  const saved = await inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'conversationSummary', conversationId);
    const written = await saveSummary(trx, conversationId, {
      title: summary.title.trim(),
      topicSummary: summary.topic_summary.trim(),
      contextSummary: summary.context_summary.trim(),
      through,
    });
    // A summary of later utterances was written meanwhile: this one is older news.
    if (!written) return false;
    for (const extracted of summary.memories) {
      const text = extracted.canonical_text.trim();
      if (!text) continue;
      const sources = extracted.source_interaction_ids.filter((id) => utteranceIds.has(id));
      // Only people of this network: an id the model made up is dropped, never stored.
      let participants = [...new Set(extracted.participant_person_ids.filter((id) => names.has(id)))];
      if (participants.length === 0) {
        const speakers = utterances
          .filter((u) => sources.includes(u.id) && u.person_id)
          .map((u) => u.person_id!);
        participants = [...new Set(speakers)];
      }
      const { memory, created } = await upsertMemory(trx, {
        networkId,
        conversationId,
        memoryType: extracted.memory_type,
        canonicalText: text,
        actionKind: extracted.action_kind,
        participantPersonIds: participants,
        proposedStartAt: time(extracted.proposed_start_at),
        proposedEndAt: time(extracted.proposed_end_at),
        expiresAt: time(extracted.expires_at),
        confidence: extracted.confidence,
        provenance: { source: 'conversation', conversation_id: conversationId, interaction_ids: sources },
        transition: {
          from: null,
          to: 'proposed',
          reason: 'extracted from the conversation',
          at: now,
          interaction_id: sources[0] ?? null,
          source: 'extraction',
        },
        dedupeKey: dedupeKey(extracted),
      });
      changes.memories.set(memory.id, memory);
      if (created) countMetric('MemoriesExtracted');
      if (memory.status === 'proposed' || memory.status === 'confirmed')
        await syncAction(trx, memory, changes);
    }
    for (const update of summary.memory_updates) {
      if (!openIds.has(update.memory_id)) continue;
      const current = await lockMemory(trx, networkId, update.memory_id);
      if (!current || current.status === update.status) continue;
      if (current.status !== 'proposed' && current.status !== 'confirmed') continue;
      const interactionId =
        update.interaction_id && utteranceIds.has(update.interaction_id) ? update.interaction_id : null;
      const changed = await updateMemory(trx, networkId, current.id, {
        status: update.status,
        transition: {
          from: current.status,
          to: update.status,
          reason: update.reason.trim() || `the conversation ${update.status} it`,
          at: now,
          interaction_id: interactionId,
          source: 'conversation',
        },
      });
      if (!changed) continue;
      changes.memories.set(changed.id, changed);
      await followStatus(trx, changed, changes);
    }
    return true;
  });
  if (!saved) return false;
  countMetric('ConversationsSummarized');
  const fresh = await findConversation(db, networkId, conversationId);
  if (fresh) await publishToNetwork(db, networkId, { event: 'conversation', data: toConversation(fresh) });
  await announce(db, networkId, changes);
  return true;
}

/** Summarises without ever throwing: it runs after an answer was decided, and the sweep retries it. */
export async function summarizeQuietly(db: Db, networkId: string, conversationId: string): Promise<void> {
  try {
    await summarizeConversationNow(db, networkId, conversationId);
  } catch (error) {
    countMetric('SummaryFailures');
    logger.warn('conversation summary failed', { conversationId, error: String(error) });
  }
}

export interface MemoryEdit {
  status?: MemoryStatus;
  canonicalText?: string;
}

/**
 * A person's edit (PATCH P/memories/{id}): the history records it, the linked action follows (its text,
 * or its status when the memory is confirmed, cancelled or expired).
 */
export async function editMemory(db: Db, networkId: string, memoryId: string, edit: MemoryEdit) {
  const changes = newChanges();
  await inTransaction(db, async (trx) => {
    const current = await lockMemory(trx, networkId, memoryId);
    if (!current) throw memoryNotFound();
    const statusChanges = edit.status !== undefined && edit.status !== current.status;
    const textChanges = edit.canonicalText !== undefined && edit.canonicalText !== current.canonical_text;
    if (!statusChanges && !textChanges) return;
    const transition: MemoryTransition = {
      from: current.status,
      to: statusChanges ? edit.status! : current.status,
      reason: statusChanges ? `set to ${edit.status} by a person` : 'text edited by a person',
      at: new Date().toISOString(),
      source: 'user',
      ...(textChanges ? { canonical_text: edit.canonicalText } : {}),
    };
    const changed = (await updateMemory(trx, networkId, memoryId, {
      status: statusChanges ? edit.status : undefined,
      canonicalText: textChanges ? edit.canonicalText : undefined,
      transition,
    }))!;
    changes.memories.set(changed.id, changed);
    if (textChanges && (await findMemoryAction(trx, changed.id))) await syncAction(trx, changed, changes);
    if (statusChanges) await followStatus(trx, changed, changes);
  });
  await announce(db, networkId, changes);
  const memory = await findMemory(db, networkId, memoryId);
  if (!memory) throw memoryNotFound();
  return memory;
}

/** Publishes memories changed elsewhere (the sweep's expiries), with their actions. */
export async function announceMemories(db: Db, networkId: string, memories: EpisodicMemory[]): Promise<void> {
  const changes = newChanges();
  await inTransaction(db, async (trx) => {
    for (const memory of memories) {
      changes.memories.set(memory.id, memory);
      await followStatus(trx, memory, changes);
    }
  });
  await announce(db, networkId, changes);
}
