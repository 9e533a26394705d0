import type { Db } from '../../shared/db/client';
import { findConversation } from '../../shared/db/repositories/conversations';
import {
  audioKeysOf,
  eraseInteractions,
  invalidateSummaries,
  latestUtterancesOf,
  withReplies,
  type Erased,
  type ErasureOptions,
  type Speaker,
} from '../../shared/db/repositories/erasure';
import { inTransaction } from '../../shared/db/transaction';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { audioStorage } from '../../shared/storage';
import { toConversation } from '../conversations/schemas';
import { toMemory } from './schemas';
import { forgetSearchVectors } from './search';

/**
 * Deletes interactions with Mira's replies to them and everything derived only from them (see
 * shared/db/repositories/erasure.ts). The stored audio goes first: a storage failure leaves every row in
 * place, and a retry finds the same work (deleting an absent object succeeds). Then one transaction.
 */
export async function eraseWithDerived(
  db: Db,
  networkId: string,
  interactionIds: string[],
  options: ErasureOptions & { rewriteSummaries: boolean },
): Promise<Erased> {
  const ids = await withReplies(db, networkId, interactionIds);
  for (const key of await audioKeysOf(db, networkId, ids)) await audioStorage().delete(key);
  const erased = await inTransaction(db, async (trx) => {
    const erased = await eraseInteractions(trx, networkId, ids, options);
    if (options.rewriteSummaries) await invalidateSummaries(trx, networkId, conversationsOf(erased));
    return erased;
  });
  forgetSearchVectors(networkId);
  return erased;
}

const conversationsOf = (erased: Erased) => [
  ...new Set(erased.interactions.flatMap((i) => (i.conversation_id ? [i.conversation_id] : []))),
];

/**
 * After the commit, each deletion as a realtime event: `interaction_deleted` and `action_deleted` with
 * the id, a memory as `episodic_memory` with status `cancelled` (what `DELETE P/memories/{id}` sends and
 * the 4.x app already reads as "remove it"), and the conversations whose summaries were cleared.
 */
export async function announceErased(db: Db, networkId: string, erased: Erased): Promise<void> {
  for (const { id, conversation_id } of erased.interactions)
    await publishToNetwork(db, networkId, { event: 'interaction_deleted', data: { id, conversation_id } });
  for (const memory of erased.memories)
    await publishToNetwork(db, networkId, {
      event: 'episodic_memory',
      data: { ...toMemory({ ...memory, action_id: null }), status: 'cancelled' },
    });
  for (const { id } of erased.actions)
    await publishToNetwork(db, networkId, { event: 'action_deleted', data: { id } });
  for (const id of conversationsOf(erased)) {
    const conversation = await findConversation(db, networkId, id);
    if (conversation)
      await publishToNetwork(db, networkId, { event: 'conversation', data: toConversation(conversation) });
  }
}

/** "Forget what I just said" reaches this far back, and at most this many utterances. */
export const FORGET_WITHIN_MS = 10 * 60_000;
export const FORGET_AT_MOST = 3;

/**
 * `forget`: the speaker's latest utterances before the command (the command itself stays, it is the
 * record that something was forgotten) with Mira's replies, the memories and actions drawn from them,
 * their copies and audio; their conversations' summaries are written again from what is left. "I" is the
 * recognised person, else the device that heard the command (its utterances nobody was recognised in):
 * what someone at that device just said.
 */
export async function forgetLatest(
  db: Db,
  networkId: string,
  speaker: Speaker,
  command: { id: string; at: Date },
) {
  const latest = await latestUtterancesOf(db, networkId, speaker, command.at, {
    withinMs: FORGET_WITHIN_MS,
    limit: FORGET_AT_MOST,
    excludeId: command.id,
  });
  const erased = await eraseWithDerived(
    db,
    networkId,
    latest.map((u) => u.id),
    { keepOpen: false, rewriteSummaries: true },
  );
  await announceErased(db, networkId, erased);
  return { forgotten_utterances: latest.length, forgotten_memories: erased.memories.length };
}
