import { conversationExists } from '../../shared/db/repositories/conversations';
import {
  deleteInteraction,
  findInteraction,
  listInteractions,
} from '../../shared/db/repositories/interactions';
import { personExists } from '../../shared/db/repositories/persons';
import { notFound } from '../../shared/http/errors';
import { created, defineRoute, ok, type RouteDefinition } from '../../shared/http/route';
import {
  createInteractionBody,
  interactionDeletedSchema,
  interactionListQuery,
  interactionListSchema,
  interactionParams,
  interactionSchema,
  toInteraction,
} from './schemas';
import { inferenceRoute } from './inference';
import { conversationNotFound, personNotFound, recordInteraction } from './service';

const tag = 'Interactions';
const interactionNotFound = () => notFound('INTERACTION_NOT_FOUND', 'Interaction not found in this network');

export const interactionRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/interactions',
    scope: 'scoped',
    tag,
    summary: 'Record a text interaction; without conversation_id it joins or starts one by the time rules',
    body: createInteractionBody,
    responses: { 201: { description: 'The stored interaction', schema: interactionSchema } },
    errors: { 404: 'PERSON_NOT_FOUND, CONVERSATION_NOT_FOUND or CLIENT_NOT_FOUND' },
    handler: async ({ db, networkId, body }) => {
      const interaction = await recordInteraction(db, {
        networkId: networkId!,
        personId: body.person_id ?? null,
        conversationId: body.conversation_id ?? null,
        clientId: body.client_id ?? null,
        interactionType: body.interaction_type,
        text: body.content,
        timestamp: body.timestamp ? new Date(body.timestamp) : undefined,
        metadata: body.metadata ?? {},
      });
      return created(toInteraction(interaction));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/interactions',
    scope: 'scoped',
    tag,
    summary: 'Interactions, newest first, by person and/or conversation',
    query: interactionListQuery,
    responses: { 200: { description: 'A page of interactions', schema: interactionListSchema } },
    errors: { 404: 'PERSON_NOT_FOUND or CONVERSATION_NOT_FOUND' },
    handler: async ({ db, networkId, query }) => {
      if (query.person_id && !(await personExists(db, networkId!, query.person_id))) throw personNotFound();
      if (query.conversation_id && !(await conversationExists(db, networkId!, query.conversation_id)))
        throw conversationNotFound();
      const rows = await listInteractions(db, networkId!, {
        personId: query.person_id,
        conversationId: query.conversation_id,
        limit: query.limit,
        offset: query.offset,
      });
      return ok(rows.map(toInteraction));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/interactions/{interaction_id}',
    scope: 'scoped',
    tag,
    summary: 'One interaction',
    params: interactionParams,
    responses: { 200: { description: 'The interaction', schema: interactionSchema } },
    errors: { 404: 'INTERACTION_NOT_FOUND' },
    handler: async ({ db, networkId, params }) => {
      const interaction = await findInteraction(db, networkId!, params.interaction_id);
      if (!interaction) throw interactionNotFound();
      return ok(toInteraction(interaction));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/interactions/{interaction_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete an interaction and the actions drawn from it',
    params: interactionParams,
    responses: { 200: { description: 'Deleted', schema: interactionDeletedSchema } },
    errors: { 404: 'INTERACTION_NOT_FOUND' },
    handler: async ({ db, networkId, params }) => {
      if (!(await deleteInteraction(db, networkId!, params.interaction_id))) throw interactionNotFound();
      return ok({ detail: 'Interaction deleted successfully' });
    },
  }),
  inferenceRoute,
];
