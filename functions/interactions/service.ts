import {
  extractAction,
  InferenceUnavailableError,
  isGeminiConfigured,
  networkTimeZone,
  type ContextUtterance,
} from '../../shared/ai';
import { findInferredAction, insertInferredAction } from '../../shared/db/repositories/actions';
import { findClient } from '../../shared/db/repositories/networks';
import {
  assignConversation,
  conversationExists,
  joinConversation,
} from '../../shared/db/repositories/conversations';
import {
  findInteraction,
  insertInteraction,
  listInteractions,
  type InteractionView,
  type NewInteraction,
} from '../../shared/db/repositories/interactions';
import { personExists, personNames } from '../../shared/db/repositories/persons';
import type { Action } from '../../shared/db/types';
import { countMetric } from '../../shared/observability';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { toAction } from '../actions/schemas';
import { inTransaction, type Executor } from '../../shared/db/transaction';
import {
  clientNotFound,
  conversationNotFound,
  interactionNotFound,
  personNotFound,
} from '../../shared/errors';

export type RecordInteraction = Omit<NewInteraction, 'conversationId'> & { conversationId?: string | null };

/**
 * Stores an interaction in one transaction: checks that the person, conversation and client it names are
 * the network's (404 otherwise, never a cross-network link), places it in a conversation (the given one,
 * or by the boundary rules), updates the participants, and inserts it. Reusable by the audio pipeline.
 */
export const recordInteraction = (
  db: Executor,
  input: RecordInteraction,
  onStored?: (trx: Executor, interaction: InteractionView) => Promise<void>,
): Promise<InteractionView> =>
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
    const interaction = await insertInteraction(trx, { ...input, personId, timestamp, conversationId });
    await onStored?.(trx, interaction);
    return interaction;
  });

/** How many earlier utterances of the conversation the model sees, for commands and inference alike. */
export const CONTEXT_UTTERANCES = 10;

/** An interaction with the conversation around it, as the model is shown it. */
export interface ConversationContext {
  /** The name of the person who said the interaction, when known. */
  speaker: string | undefined;
  /** Up to CONTEXT_UTTERANCES earlier utterances of its conversation, oldest first. */
  earlier: ContextUtterance[];
}

/**
 * What was said before an interaction in its conversation (up to its time), with the speakers' names: the
 * context a command and an action extraction both give the model.
 */
export async function conversationContext(
  db: Executor,
  interaction: InteractionView,
): Promise<ConversationContext> {
  const networkId = interaction.network_id;
  const recent = interaction.conversation_id
    ? await listInteractions(db, networkId, {
        conversationId: interaction.conversation_id,
        limit: CONTEXT_UTTERANCES + 1,
        offset: 0,
      })
    : [];
  // Only the speakers shown, by primary key: the whole person list grew with every unknown voice.
  const names = await personNames(
    db,
    networkId,
    [interaction, ...recent].flatMap((u) => (u.person_id ? [u.person_id] : [])),
  );
  const nameOf = (personId: string | null) => (personId ? names.get(personId) : undefined);
  const at = new Date(interaction.timestamp).getTime();
  return {
    speaker: nameOf(interaction.person_id),
    earlier: recent
      .filter((u) => u.id !== interaction.id && new Date(u.timestamp).getTime() <= at)
      .slice(0, CONTEXT_UTTERANCES)
      .reverse()
      .map((u) => ({ speaker: nameOf(u.person_id), text: u.text, timestamp: new Date(u.timestamp) })),
  };
}

export type InferenceOutcome =
  { kind: 'extracted'; action: Action } | { kind: 'earlier'; action: Action } | { kind: 'no_intent' };

/**
 * Asks the model whether an interaction asks for a reminder, an appointment or contacting someone, and
 * stores what it finds. An interaction yields one inferred action: asked again (even concurrently), the
 * stored one is the answer, without a model call.
 */
export async function inferAction(
  db: Executor,
  networkId: string,
  interactionId: string,
  clientId: string | undefined,
): Promise<InferenceOutcome> {
  const interaction = await findInteraction(db, networkId, interactionId);
  if (!interaction) throw interactionNotFound();
  if (clientId && !(await findClient(db, networkId, clientId))) throw clientNotFound(clientId);
  const earlierAction = await findInferredAction(db, networkId, interaction.id);
  if (earlierAction) return { kind: 'earlier', action: earlierAction };
  // Before the context queries: without a key there is nothing to do.
  if (!isGeminiConfigured()) throw new InferenceUnavailableError();

  const [context, timeZone] = await Promise.all([
    conversationContext(db, interaction),
    networkTimeZone(db, networkId),
  ]);
  const extracted = await extractAction({
    text: interaction.text,
    speaker: context.speaker,
    context: context.earlier,
    timeZone,
  });
  if (!extracted) return { kind: 'no_intent' };

  const action = await insertInferredAction(db, {
    networkId,
    actionType: extracted.actionType,
    payload: {
      title: extracted.title,
      contact: extracted.contact,
      scheduled_time_text: extracted.scheduledTimeText,
      source_text: interaction.text,
      ...(clientId ? { client_id: clientId } : {}),
    },
    personId: interaction.person_id,
    interactionId: interaction.id,
    conversationId: interaction.conversation_id,
    scheduledTime: extracted.scheduledTime,
  });
  // A concurrent call for the same interaction stored its action first: that one is the answer.
  if (!action) return { kind: 'earlier', action: (await findInferredAction(db, networkId, interaction.id))! };
  countMetric('ActionsExtracted');
  await publishToNetwork(db, networkId, { event: 'action', data: toAction(action) });
  return { kind: 'extracted', action };
}
