import { findClient } from '../../shared/db/repositories/networks';
import {
  assignConversation,
  conversationExists,
  joinConversation,
} from '../../shared/db/repositories/conversations';
import {
  insertInteraction,
  type InteractionView,
  type NewInteraction,
} from '../../shared/db/repositories/interactions';
import { personExists } from '../../shared/db/repositories/persons';
import { inTransaction, type Executor } from '../../shared/db/transaction';
import { clientNotFound, conversationNotFound, personNotFound } from '../../shared/errors';

export type RecordInteraction = Omit<NewInteraction, 'conversationId'> & { conversationId?: string | null };

/**
 * Stores an interaction in one transaction: checks that the person, conversation and client it names are
 * the network's (404 otherwise, never a cross-network link), places it in a conversation (the given one,
 * or by the boundary rules), updates the participants, and inserts it. Reusable by the audio pipeline.
 */
export const recordInteraction = (db: Executor, input: RecordInteraction): Promise<InteractionView> =>
  inTransaction(db, async (trx) => {
    const { networkId } = input;
    const personId = input.personId ?? null;
    const timestamp = input.timestamp ?? new Date();
    if (personId && !(await personExists(trx, networkId, personId))) throw personNotFound();
    if (input.clientId && !(await findClient(trx, networkId, input.clientId)))
      throw clientNotFound(input.clientId);
    let conversationId: string;
    if (input.conversationId) {
      if (!(await conversationExists(trx, networkId, input.conversationId))) throw conversationNotFound();
      conversationId = input.conversationId;
      await joinConversation(trx, conversationId, { networkId, personId, timestamp });
    } else {
      conversationId = (await assignConversation(trx, { networkId, personId, timestamp })).conversationId;
    }
    return insertInteraction(trx, { ...input, personId, timestamp, conversationId });
  });
