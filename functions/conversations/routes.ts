import {
  deleteConversation,
  findConversation,
  listConversations,
} from '../../shared/db/repositories/conversations';
import { conversationNotFound } from '../../shared/errors';
import { defineRoute, ok, type RouteDefinition } from '../../shared/http/route';
import {
  conversationListQuery,
  conversationListSchema,
  conversationParams,
  conversationSchema,
  deletedConversationSchema,
  toConversation,
} from './schemas';

const tag = 'Conversations';

export const conversationRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/conversations',
    scope: 'scoped',
    tag,
    summary: 'Conversations of the network, newest first (limit 1..100)',
    query: conversationListQuery,
    responses: { 200: { description: 'A page of conversations', schema: conversationListSchema } },
    handler: async ({ db, networkId, query }) => {
      const now = new Date();
      return ok((await listConversations(db, networkId, query)).map((c) => toConversation(c, now)));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/conversations/{conversation_id}',
    scope: 'scoped',
    tag,
    summary: 'One conversation with its participants',
    params: conversationParams,
    responses: { 200: { description: 'The conversation', schema: conversationSchema } },
    errors: ['CONVERSATION_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const conversation = await findConversation(db, networkId, params.conversation_id);
      if (!conversation) throw conversationNotFound();
      return ok(toConversation(conversation));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/conversations/{conversation_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete a conversation with its interactions and actions',
    params: conversationParams,
    responses: { 200: { description: 'Deleted', schema: deletedConversationSchema } },
    errors: ['CONVERSATION_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const deleted = await deleteConversation(db, networkId, params.conversation_id);
      if (!deleted) throw conversationNotFound();
      return ok({
        message: 'Conversation deleted successfully',
        deleted_conversation_id: params.conversation_id,
        deleted_interactions: deleted.interactions,
        deleted_actions: deleted.actions,
      });
    },
  }),
];
