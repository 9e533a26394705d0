import { publishToNetwork } from '../../shared/realtime/publisher';
import * as z from 'zod';
import {
  extractAction,
  InferenceUnavailableError,
  isGeminiConfigured,
  networkTimeZone,
} from '../../shared/ai';
import { findInferredAction, insertInferredAction } from '../../shared/db/repositories/actions';
import { findInteraction, listInteractions } from '../../shared/db/repositories/interactions';
import { findClient } from '../../shared/db/repositories/networks';
import { listPersons } from '../../shared/db/repositories/persons';
import { notFound } from '../../shared/http/errors';
import { created, defineRoute, ok } from '../../shared/http/route';
import { clientIdSchema, messageSchema } from '../../shared/http/validation';
import { countMetric } from '../../shared/observability';
import { actionSchema, toAction } from '../actions/schemas';
import { interactionParams } from './schemas';

/** How many earlier utterances of the conversation the model sees. */
const CONTEXT_UTTERANCES = 10;

export const NO_INTENT_MESSAGE = 'Intent not recognized, no inference performed.';

export const inferenceBody = z
  .object({
    client_id: clientIdSchema
      .optional()
      .meta({ description: 'The device asking; recorded on the action (it must be registered)' }),
  })
  .meta({ id: 'InferenceRequest', example: { client_id: 'kitchen' } });

const noIntentSchema = messageSchema.meta({
  id: 'InferenceNoIntent',
  example: { message: NO_INTENT_MESSAGE },
});

/**
 * POST P/interactions/{interaction_id}/inference: the model reads the interaction (with its conversation
 * so far) and, when it asks for a reminder, an appointment or contacting someone, the action is stored.
 */
export const inferenceRoute = defineRoute({
  method: 'POST',
  path: '/interactions/{interaction_id}/inference',
  scope: 'scoped',
  tag: 'Interactions',
  summary: 'Extract an action (remind, schedule, contact) from an interaction with Gemini and store it',
  params: interactionParams,
  body: inferenceBody,
  bodyOptional: true,
  responses: {
    201: { description: 'The extracted action, stored', schema: actionSchema },
    200: {
      description:
        '`{message}` when no action was asked for; or the action an earlier call already extracted from ' +
        'this interaction (an interaction yields one inferred action, however often it is asked)',
      schema: z.union([actionSchema, noIntentSchema]),
    },
  },
  errors: {
    404: 'INTERACTION_NOT_FOUND or CLIENT_NOT_FOUND',
    502: 'INFERENCE_FAILED',
    503: 'INFERENCE_UNAVAILABLE (no GEMINI_API_KEY, or rate-limited upstream)',
  },
  handler: async ({ db, networkId, params, body }) => {
    const interaction = await findInteraction(db, networkId!, params.interaction_id);
    if (!interaction) throw notFound('INTERACTION_NOT_FOUND', 'Interaction not found in this network');
    if (body?.client_id && !(await findClient(db, networkId!, body.client_id)))
      throw notFound('CLIENT_NOT_FOUND', `Client ${body.client_id} is not registered in this network`);
    // Asked before: the stored answer, without a model call.
    const earlierAction = await findInferredAction(db, networkId!, interaction.id);
    if (earlierAction) return ok(toAction(earlierAction));
    // Before the context queries: without a key there is nothing to do.
    if (!isGeminiConfigured()) throw new InferenceUnavailableError();

    const [persons, earlier, timeZone] = await Promise.all([
      listPersons(db, networkId!),
      interaction.conversation_id
        ? listInteractions(db, networkId!, {
            conversationId: interaction.conversation_id,
            limit: CONTEXT_UTTERANCES + 1,
            offset: 0,
          })
        : Promise.resolve([]),
      networkTimeZone(db, networkId!),
    ]);
    const nameOf = new Map(persons.map((p) => [p.id, p.name]));
    const speaker = (personId: string | null) => (personId ? nameOf.get(personId) : undefined);
    const at = new Date(interaction.timestamp).getTime();
    const context = earlier
      .filter((u) => u.id !== interaction.id && new Date(u.timestamp).getTime() <= at)
      .slice(0, CONTEXT_UTTERANCES)
      .reverse()
      .map((u) => ({ speaker: speaker(u.person_id), text: u.text, timestamp: new Date(u.timestamp) }));

    const extracted = await extractAction({
      text: interaction.text,
      speaker: speaker(interaction.person_id),
      context,
      timeZone,
    });
    if (!extracted) return ok({ message: NO_INTENT_MESSAGE });

    const action = await insertInferredAction(db, {
      networkId: networkId!,
      actionType: extracted.actionType,
      details: {
        title: extracted.title,
        contact: extracted.contact,
        scheduled_time_text: extracted.scheduledTimeText,
        source_text: interaction.text,
        ...(body?.client_id ? { client_id: body.client_id } : {}),
      },
      personId: interaction.person_id,
      interactionId: interaction.id,
      conversationId: interaction.conversation_id,
      scheduledTime: extracted.scheduledTime,
    });
    if (!action) {
      // A concurrent call for the same interaction stored its action first: that one is the answer.
      return ok(toAction((await findInferredAction(db, networkId!, interaction.id))!));
    }
    countMetric('ActionsExtracted');
    const answer = toAction(action);
    await publishToNetwork(db, networkId!, { event: 'action', data: answer });
    return created(answer);
  },
});
