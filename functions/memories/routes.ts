import { deleteMemory, findMemory, listMemories } from '../../shared/db/repositories/memories';
import { forbidden, memoryNotFound, unauthorized } from '../../shared/errors';
import { defineRoute, noContent, ok, type RouteDefinition } from '../../shared/http/route';
import { publishToNetwork } from '../../shared/realtime/publisher';
import * as z from 'zod';
import {
  memoryListQuery,
  memoryListSchema,
  memoryParams,
  memoryPatchBody,
  memorySchema,
  toMemory,
} from './schemas';
import { exportPage, exportPageSchema, exportQuery } from './export';
import { retentionSchema, retentionSettings, updateRetention } from './retention';
import { search } from './search';
import { editMemory } from './service';

const tag = 'Memories';

const searchQuery = z.object({
  q: z.string().trim().min(1).max(500),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const searchAnswerSchema = z
  .object({
    query: z.string(),
    mode: z.enum(['hybrid', 'full_text']),
    results: z.array(
      z.object({
        type: z.enum(['interaction', 'conversation', 'memory']),
        id: z.uuid(),
        score: z.number(),
        snippet: z.string().meta({ description: 'The matching text; full-text matches marked with **' }),
        conversation_id: z.uuid().nullable(),
        timestamp: z.string(),
        matched_by: z.array(z.enum(['text', 'meaning'])),
      }),
    ),
  })
  .meta({ id: 'SearchResults' });

export const memoryRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/export',
    scope: 'scoped',
    tag: 'Privacy',
    summary:
      'Everything the network holds (network and settings, persons without voice data, conversations with their summaries, interactions, memories, actions), in pages: follow `next_cursor` until null',
    query: exportQuery,
    responses: { 200: { description: 'One page of the export', schema: exportPageSchema } },
    errors: ['USER_TOKEN_REQUIRED', 'UNAUTHORIZED'],
    handler: async ({ db, networkId, query, principal }) => {
      // A person's data goes to a person: a member's or owner's sign-in, never a device's key.
      if (principal.kind === 'api_key')
        throw forbidden('Exporting needs a member’s user token, not an API key', 'USER_TOKEN_REQUIRED');
      if (principal.kind !== 'user') throw unauthorized('Sign in as a member of this network to export it');
      return ok(await exportPage(db, networkId, { cursor: query.cursor, limit: query.limit }));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/retention',
    scope: 'scoped',
    tag: 'Privacy',
    summary: 'How long interactions are kept (`retention_days`, null: forever)',
    responses: { 200: { description: 'The retention setting', schema: retentionSchema } },
    handler: async ({ db, networkId }) => ok(await retentionSettings(db, networkId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/retention',
    scope: 'scoped',
    tag: 'Privacy',
    summary:
      'Set `retention_days` (1 to 36500; null keeps everything): older interactions and what derives only from them are deleted by the sweep',
    body: retentionSchema,
    responses: { 200: { description: 'The retention setting', schema: retentionSchema } },
    handler: async ({ db, networkId, body }) => ok(await updateRetention(db, networkId, body.retention_days)),
  }),
  defineRoute({
    method: 'GET',
    path: '/search',
    scope: 'scoped',
    tag,
    summary:
      'Search interactions, conversation summaries and memories by words and by meaning, best first, with snippets',
    query: searchQuery,
    responses: { 200: { description: 'Ranked results', schema: searchAnswerSchema } },
    handler: async ({ db, networkId, query }) => ok(await search(db, networkId, query.q, query.limit)),
  }),
  defineRoute({
    method: 'GET',
    path: '/memories',
    scope: 'scoped',
    tag,
    summary: 'Episodic memories of the network, newest first',
    query: memoryListQuery,
    responses: { 200: { description: 'The memories', schema: memoryListSchema } },
    handler: async ({ db, networkId, query }) =>
      ok(
        (
          await listMemories(db, networkId, {
            limit: query.limit,
            offset: query.offset,
            status: query.status,
            memoryType: query.memory_type,
            personId: query.person_id,
          })
        ).map(toMemory),
      ),
  }),
  defineRoute({
    method: 'GET',
    path: '/memories/{memory_id}',
    scope: 'scoped',
    tag,
    summary: 'One memory',
    params: memoryParams,
    responses: { 200: { description: 'The memory', schema: memorySchema } },
    errors: ['MEMORY_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const memory = await findMemory(db, networkId, params.memory_id);
      if (!memory) throw memoryNotFound();
      return ok(toMemory(memory));
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/memories/{memory_id}',
    scope: 'scoped',
    tag,
    summary: 'Confirm, cancel or reword a memory; its linked action follows',
    params: memoryParams,
    body: memoryPatchBody,
    responses: { 200: { description: 'The memory', schema: memorySchema } },
    errors: ['MEMORY_NOT_FOUND'],
    handler: async ({ db, networkId, params, body }) =>
      ok(
        toMemory(
          await editMemory(db, networkId, params.memory_id, {
            status: body.status,
            canonicalText: body.canonical_text,
          }),
        ),
      ),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/memories/{memory_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete a memory (its action stays, unlinked)',
    params: memoryParams,
    responses: { 204: { description: 'Deleted' } },
    errors: ['MEMORY_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const memory = await findMemory(db, networkId, params.memory_id);
      if (!memory || !(await deleteMemory(db, networkId, params.memory_id))) throw memoryNotFound();
      // Clients drop a memory whose status is no longer in force.
      await publishToNetwork(db, networkId, {
        event: 'episodic_memory',
        data: { ...toMemory(memory), status: 'cancelled' },
      });
      return noContent();
    },
  }),
];
