import type { BoundedContext } from '../../functions/contexts';
import { API_VERSIONS } from '../../lib/api-routes';
import type { HttpMethod, RouteDefinition } from '../../shared/http/route';
import { toApiGatewayEvent } from '../../local/dispatch';

const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const version = API_VERSIONS[0];

export const apiEvent = (method: string, url: string) =>
  toApiGatewayEvent({ method, url, headers: { host: 'api.example' }, body: Buffer.alloc(0) });

const concrete = (route: RouteDefinition, networkId: string | undefined) => {
  const path = route.path
    .replaceAll('{version}', version)
    .replace(/\{(\w+)\}/g, () => '00000000-0000-4000-8000-000000000000');
  if (route.scope === 'root') return path;
  return networkId ? `/api/${version}/${networkId}${path}` : `/api/${version}${path}`;
};

/**
 * A request every context answers without a database: a method its first route's path does not allow,
 * which the router answers with 405 in Mira's error shape before anything touches the database.
 */
export function wrongMethodRequest(context: BoundedContext) {
  const route = context.routes[0];
  const taken = new Set(
    context.routes.filter((r) => r.path === route.path && r.scope === route.scope).map((r) => r.method),
  );
  const method = METHODS.find((m) => !taken.has(m))!;
  return apiEvent(method, concrete(route, '00000000-0000-4000-8000-000000000000'));
}

/** A network-scoped read of the context that needs no other data (a GET without path parameters). */
export function networkReadRequest(context: BoundedContext, networkId: string) {
  const route = context.routes.find(
    (r) => r.scope === 'scoped' && r.method === 'GET' && !r.path.includes('{'),
  );
  return route ? { route, event: apiEvent('GET', concrete(route, networkId)) } : undefined;
}

/** An API Gateway WebSocket event for the realtime function. */
export const webSocketEvent = (
  routeKey: '$connect' | '$disconnect' | '$default',
  connectionId: string,
  extra: { queryStringParameters?: Record<string, string>; body?: string } = {},
) => ({
  requestContext: {
    routeKey,
    connectionId,
    eventType: routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE',
    requestId: `request-${connectionId}`,
  },
  ...extra,
});
