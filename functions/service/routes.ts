import { publishToNetwork } from '../../shared/realtime/publisher';
import {
  createNetwork,
  deleteClient,
  findNetwork,
  insertClient,
  insertNumberedClient,
  isUniqueViolation,
  listClients,
  renameClient,
  setClientEnabled,
  setServiceEnabled,
  upsertClient,
} from '../../shared/db/repositories/networks';
import { config } from '../../shared/config';
import { createNetworkOwnedBy } from '../../shared/db/repositories/members';
import type { JsonObject } from '../../shared/db/types';
import {
  clientNotFound,
  clientTaken,
  invalidToken,
  networkNotFound,
  unauthorized,
} from '../../shared/errors';
import { created, defineRoute, noContent, ok, type RouteDefinition } from '../../shared/http/route';
import { messageSchema } from '../../shared/http/validation';
import {
  clientListSchema,
  clientParams,
  clientSchema,
  createClientBody,
  createNetworkBody,
  networkSchema,
  registerClientBody,
  renameClientBody,
  toClient,
  toggleBody,
  toNetwork,
} from './schemas';

const tag = 'Service';

const networkWithClients = async (db: Parameters<typeof findNetwork>[0], networkId: string) => {
  const network = await findNetwork(db, networkId);
  if (!network) throw networkNotFound();
  const clients = await listClients(db, networkId);
  return toNetwork(
    network,
    clients.map((c) => c.client_id),
  );
};

const toggleService = (enabled: boolean) =>
  defineRoute({
    method: 'PATCH',
    path: `/service/${enabled ? 'enable' : 'disable'}`,
    scope: 'scoped',
    tag,
    summary: `${enabled ? 'Enable' : 'Disable'} the service for the network, or for one client`,
    body: toggleBody,
    bodyOptional: true,
    responses: { 200: { description: 'Done', schema: messageSchema } },
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ db, networkId, body }) => {
      const verb = enabled ? 'enabled' : 'disabled';
      if (body?.client_id) {
        if (!(await setClientEnabled(db, networkId, body.client_id, enabled)))
          throw clientNotFound(body.client_id);
        return ok({ message: `Service ${verb} for client ${body.client_id}` });
      }
      await setServiceEnabled(db, networkId, enabled);
      await publishToNetwork(db, networkId, { event: 'service_status', enabled });
      return ok({ message: `Service ${verb}` });
    },
  });

const toggleNetwork = (enabled: boolean) =>
  defineRoute({
    method: 'PATCH',
    path: `/service/network/${enabled ? 'enable' : 'disable'}`,
    scope: 'scoped',
    tag,
    summary: `${enabled ? 'Enable' : 'Disable'} the whole network`,
    responses: { 200: { description: 'Done', schema: messageSchema } },
    handler: async ({ db, networkId }) => {
      await setServiceEnabled(db, networkId, enabled);
      await publishToNetwork(db, networkId, { event: 'service_status', enabled });
      return ok({ message: `Network ${enabled ? 'enabled' : 'disabled'}` });
    },
  });

export const serviceRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/api/{version}/networks',
    scope: 'root',
    access: 'public',
    tag: 'Networks',
    summary: 'Create a network; with a user token the caller becomes its owner',
    body: createNetworkBody,
    responses: { 201: { description: 'The new network', schema: networkSchema } },
    errors: ['UNAUTHORIZED', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'INVALID_API_KEY'],
    handler: async ({ db, body, principal, headers }) => {
      if (principal.kind === 'user') {
        return created(toNetwork(await createNetworkOwnedBy(db, body.name, principal.userId!), []));
      }
      // A credential was sent but is not a good user token: say so rather than create an ownerless network.
      if (headers.authorization || headers['x-api-key']) {
        throw invalidToken('Creating a network needs a valid user access token');
      }
      // Without a user, a network has no owner and only legacy (id-only) access can ever reach it.
      if (!config().legacyNetworkAuth) throw unauthorized('Sign in to create a network');
      return created(toNetwork(await createNetwork(db, body.name), []));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/service/info',
    scope: 'scoped',
    tag,
    summary: 'The network, its settings and its clients',
    responses: { 200: { description: 'The network', schema: networkSchema } },
    handler: async ({ db, networkId }) => ok(await networkWithClients(db, networkId)),
  }),
  defineRoute({
    method: 'POST',
    path: '/service/client/register/{client_id}',
    scope: 'scoped',
    tag,
    summary: 'Register a client (idempotent)',
    params: clientParams,
    body: registerClientBody,
    bodyOptional: true,
    responses: { 200: { description: 'Registered', schema: messageSchema } },
    handler: async ({ db, networkId, params, body }) => {
      await upsertClient(db, networkId, params.client_id, body ?? {});
      return ok({ message: `${params.client_id} registered successfully` });
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/service/client/deregister/{client_id}',
    scope: 'scoped',
    tag,
    summary: 'Deregister a client',
    params: clientParams,
    responses: { 200: { description: 'Deregistered', schema: messageSchema } },
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      if (!(await deleteClient(db, networkId, params.client_id))) throw clientNotFound(params.client_id);
      return ok({ message: `${params.client_id} deregistered successfully` });
    },
  }),
  toggleService(true),
  toggleService(false),
  defineRoute({
    method: 'POST',
    path: '/service/clients',
    scope: 'scoped',
    tag,
    summary: 'Add a client (named by the server when no client_id is sent); 409 when the name is taken',
    body: createClientBody,
    responses: { 201: { description: 'The new client', schema: clientSchema } },
    errors: ['CLIENT_EXISTS'],
    handler: async ({ db, networkId, body, principal }) => {
      const metadata = (body.metadata ?? {}) as JsonObject;
      if (!body.client_id)
        return created(toClient(await insertNumberedClient(db, networkId, metadata, principal.userId)));
      const client = await insertClient(db, networkId, body.client_id, metadata);
      if (!client) throw clientTaken(body.client_id);
      return created(toClient(client));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/service/clients',
    scope: 'scoped',
    tag,
    summary: 'Names of the network clients',
    responses: { 200: { description: 'Client names', schema: clientListSchema } },
    handler: async ({ db, networkId }) => ok((await listClients(db, networkId)).map((c) => c.client_id)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/service/clients/{client_id}',
    scope: 'scoped',
    tag,
    summary: 'Remove a client',
    params: clientParams,
    responses: { 204: { description: 'Removed' } },
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      if (!(await deleteClient(db, networkId, params.client_id))) throw clientNotFound(params.client_id);
      return noContent();
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/service/clients/{client_id}/rename',
    scope: 'scoped',
    tag,
    summary: 'Rename a client atomically; 409 when the new name is taken',
    params: clientParams,
    body: renameClientBody,
    responses: { 200: { description: 'The renamed client', schema: clientSchema } },
    errors: ['CLIENT_NOT_FOUND', 'CLIENT_EXISTS'],
    handler: async ({ db, networkId, params, body }) => {
      try {
        const outcome = await renameClient(db, networkId, params.client_id, body.new_client_id);
        if (outcome.kind === 'not_found') throw clientNotFound(params.client_id);
        if (outcome.kind === 'taken') throw clientTaken(body.new_client_id);
        return ok(toClient(outcome.client));
      } catch (error) {
        if (isUniqueViolation(error)) throw clientTaken(body.new_client_id);
        throw error;
      }
    },
  }),
  toggleNetwork(true),
  toggleNetwork(false),
];
