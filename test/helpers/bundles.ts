import type { BoundedContext } from '../../functions/contexts';
import { API_VERSIONS } from '../../lib/api-routes';
import type { HttpMethod, RouteDefinition } from '../../shared/http/route';
import { toApiGatewayEvent } from '../../local/dispatch';

const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const version = API_VERSIONS[0];

/** An API Gateway v2 event; a body that is not a Buffer is sent as JSON. */
export function apiEvent(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
) {
  const json = options.body !== undefined && !Buffer.isBuffer(options.body);
  const body = Buffer.isBuffer(options.body)
    ? options.body
    : json
      ? Buffer.from(JSON.stringify(options.body))
      : Buffer.alloc(0);
  const headers = {
    host: 'api.example',
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  return toApiGatewayEvent({ method, url, headers, body });
}

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
