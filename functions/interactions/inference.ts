import * as z from 'zod';
import { created, defineRoute, ok } from '../../shared/http/route';
import { clientIdSchema, messageSchema } from '../../shared/http/validation';
import { actionSchema, toAction } from '../actions/schemas';
import { interactionParams } from './schemas';
import { inferAction } from './service';

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
  errors: ['INTERACTION_NOT_FOUND', 'CLIENT_NOT_FOUND', 'INFERENCE_FAILED', 'INFERENCE_UNAVAILABLE'],
  handler: async ({ db, networkId, params, body }) => {
    const outcome = await inferAction(db, networkId, params.interaction_id, body?.client_id);
    if (outcome.kind === 'no_intent') return ok({ message: NO_INTENT_MESSAGE });
    return outcome.kind === 'extracted' ? created(toAction(outcome.action)) : ok(toAction(outcome.action));
  },
});
