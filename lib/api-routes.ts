import type { RouteDefinition } from '../shared/http/route';

/**
 * HTTP API routes generated from the contexts' route tables.
 *
 * Why per-group greedy routes instead of one HTTP API route per Mira route:
 * - Quota: an HTTP API has 300 routes by default. Every scoped Mira route exists 4 times (network-scoped
 *   and token-scoped, v1 and v2), so ~70 scoped routes would already exceed it once all contexts exist.
 *   Per group it is at most 4 routes per version (base path and `{proxy+}`, in both scope forms),
 *   whatever the number of routes in the group.
 * - Path variables: API Gateway does not allow two sibling variables with different names, nor a greedy
 *   variable anywhere but last; the contexts name their parameters freely (`{person_id}`, `{client_id}`).
 *   Greedy routes never expose those names to API Gateway.
 * - Mira's errors: the context's own router answers a wrong method with 405 and a bad id with 422 in
 *   Mira's shape; exact API Gateway routes would answer such requests with API Gateway's own 404.
 * Anything no route claims falls through to `$default` (the health context), which answers Mira's 404.
 *
 * Scoped routes: the first path segment is the group (`/persons/{person_id}` -> `persons`), routed as
 *   `/api/{v}/{network_id}/persons`, `/api/{v}/{network_id}/persons/{proxy+}`, `/api/{v}/persons`,
 *   `/api/{v}/persons/{proxy+}` (only the forms some route needs).
 * Root routes: `{version}` expands to v1 and v2; a path without variables is routed exactly, a path with
 *   variables by its literal prefix plus `{proxy+}`.
 */
export const API_VERSIONS = ['v1', 'v2'] as const;

/** API Gateway's default quota of routes per HTTP API. */
export const HTTP_API_ROUTE_QUOTA = 300;

export interface RouteTable {
  name: string;
  routes: RouteDefinition[];
  /** The context posts events to the realtime sockets (granted ManageConnections on the WebSocket API). */
  publishesRealtime?: boolean;
  /**
   * Answers with a streamed body (the voice command's text/event-stream), which an HTTP API cannot relay:
   * served by the function's own URL with response streaming instead, never routed here.
   */
  streaming?: boolean;
}

export interface ApiRoute {
  /** The HTTP API path, e.g. `/api/v1/{network_id}/persons/{proxy+}`. */
  path: string;
  context: string;
}

const isVariable = (segment: string) => segment.startsWith('{') && segment.endsWith('}');

const segmentsOf = (path: string) => path.split('/').filter(Boolean);

/** The HTTP API paths one Mira route needs. */
export function apiPathsFor(route: RouteDefinition, context: string): string[] {
  const segments = segmentsOf(route.path);
  if (route.scope === 'scoped') {
    const group = segments[0];
    if (!group || isVariable(group)) {
      throw new Error(
        `${context}: scoped route ${route.method} ${route.path} must start with a literal group segment`,
      );
    }
    const tail = segments.length > 1 ? '/{proxy+}' : '';
    return API_VERSIONS.flatMap((v) => [
      `/api/${v}/{network_id}/${group}${tail}`,
      `/api/${v}/${group}${tail}`,
    ]);
  }
  const expanded = route.path.includes('{version}')
    ? API_VERSIONS.map((v) => route.path.replaceAll('{version}', v))
    : [route.path];
  return expanded.map((path) => {
    const parts = segmentsOf(path);
    const firstVariable = parts.findIndex(isVariable);
    if (firstVariable === -1) return `/${parts.join('/')}`;
    if (firstVariable === 0) {
      throw new Error(`${context}: root route ${route.method} ${route.path} cannot start with a variable`);
    }
    return `/${parts.slice(0, firstVariable).join('/')}/{proxy+}`;
  });
}

/** Every HTTP API route of the app, each claimed by exactly one context; throws on a clash or quota. */
export function generateApiRoutes(tables: RouteTable[]): ApiRoute[] {
  const owners = new Map<string, string>();
  for (const table of tables.filter((t) => !t.streaming)) {
    for (const route of table.routes) {
      for (const path of apiPathsFor(route, table.name)) {
        const owner = owners.get(path);
        if (owner && owner !== table.name) {
          throw new Error(`HTTP API route ${path} is claimed by both ${owner} and ${table.name}`);
        }
        owners.set(path, table.name);
      }
    }
  }
  if (owners.size > HTTP_API_ROUTE_QUOTA) {
    throw new Error(`${owners.size} HTTP API routes exceed the quota of ${HTTP_API_ROUTE_QUOTA}`);
  }
  return [...owners]
    .map(([path, context]) => ({ path, context }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Which route API Gateway selects for a request path, following its documented order: a full match
 * without a greedy variable beats a greedy match, and literal segments beat variables; `undefined`
 * means `$default`. Used by tests to prove every Mira route reaches its own context.
 */
export function selectApiRoute(routes: ApiRoute[], requestPath: string): ApiRoute | undefined {
  const request = segmentsOf(requestPath);
  const matches = routes.filter((route) => {
    const parts = segmentsOf(route.path);
    const greedy = parts.at(-1) === '{proxy+}';
    const fixed = greedy ? parts.slice(0, -1) : parts;
    if (greedy ? request.length <= fixed.length : request.length !== fixed.length) return false;
    return fixed.every((part, i) => isVariable(part) || part === request[i]);
  });
  const rank = (route: ApiRoute) => {
    const parts = segmentsOf(route.path);
    const greedy = parts.at(-1) === '{proxy+}' ? '1' : '0';
    return greedy + parts.map((p) => (p === '{proxy+}' ? '2' : isVariable(p) ? '1' : '0')).join('');
  };
  return matches.sort((a, b) => rank(a).localeCompare(rank(b)))[0];
}
