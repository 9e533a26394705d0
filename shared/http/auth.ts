import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Db } from '../db/client';
import { networkNotFound, unauthorized } from './errors';
import type { Principal, RouteDefinition } from './route';
import type { ScopedPath } from './router';

export interface AuthorizationInput {
  route: RouteDefinition;
  scoped: ScopedPath;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  db: Db;
  event: APIGatewayProxyEventV2;
}

export interface Access {
  principal: Principal;
  /** The network the request may act on, when the route is about one. */
  networkId: string | undefined;
}

/** The authorisation hook of the request pipeline: who is calling, and on which network. */
export type Authorizer = (input: AuthorizationInput) => Promise<Access>;

/**
 * Foundation behaviour: public routes are open, network-scoped routes need an existing network,
 * token-scoped routes need credentials (filled by the auth context).
 */
export const defaultAuthorizer: Authorizer = async ({ route, scoped, db }) => {
  if (route.access === 'public' || route.scope === 'root') {
    return { principal: { kind: 'anonymous' }, networkId: undefined };
  }
  if (scoped.scope === 'network') {
    const network = await db
      .selectFrom('networks')
      .select('id')
      .where('id', '=', scoped.networkSegment!)
      .executeTakeFirst();
    if (!network) throw networkNotFound();
    return { principal: { kind: 'legacy' }, networkId: network.id };
  }
  throw unauthorized();
};
