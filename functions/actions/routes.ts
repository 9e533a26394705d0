import { publishToNetwork } from '../../shared/realtime/publisher';
import { deleteAction, listActions, setActionStatus } from '../../shared/db/repositories/actions';
import { actionNotFound } from '../../shared/errors';
import { defineRoute, noContent, ok, type RouteDefinition } from '../../shared/http/route';
import {
  actionListQuery,
  actionListSchema,
  actionParams,
  actionSchema,
  actionStatusBody,
  toAction,
} from './schemas';

const tag = 'Actions';

export const actionRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/actions',
    scope: 'scoped',
    tag,
    summary: 'Actions of the network, newest first, optionally by status',
    query: actionListQuery,
    responses: { 200: { description: 'The actions', schema: actionListSchema } },
    handler: async ({ db, networkId, query }) => ok((await listActions(db, networkId, query)).map(toAction)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/actions/{action_id}',
    scope: 'scoped',
    tag,
    summary: 'Mark an action pending, done or dismissed',
    params: actionParams,
    body: actionStatusBody,
    responses: { 200: { description: 'The action', schema: actionSchema } },
    errors: ['ACTION_NOT_FOUND'],
    handler: async ({ db, networkId, params, body }) => {
      const action = await setActionStatus(db, networkId, params.action_id, body.status);
      if (!action) throw actionNotFound();
      const answer = toAction(action);
      await publishToNetwork(db, networkId, { event: 'action', data: answer });
      return ok(answer);
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/actions/{action_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete an action',
    params: actionParams,
    responses: { 204: { description: 'Deleted' } },
    errors: ['ACTION_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      if (!(await deleteAction(db, networkId, params.action_id))) throw actionNotFound();
      return noContent();
    },
  }),
];
