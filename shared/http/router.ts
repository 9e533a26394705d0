import type { HttpMethod, RequestScope, RouteDefinition } from './route';

/**
 * Route groups that may follow `/api/vN/` directly. A segment there that is not one of these is a
 * network id (API.md: "a path segment after /api/vN/ that is a UUID is a network id; otherwise it is a
 * route group"); it is validated as a UUID so a malformed one answers 422 rather than 404.
 */
export const ROUTE_GROUPS = new Set([
  'service',
  'persons',
  'conversations',
  'interactions',
  'actions',
  'streams',
  'realtime',
  'auth',
  'networks',
  'keys',
  'members',
  'memories',
  'search',
  'export',
  'retention',
  // Register v2: GET P/utterances/{utterance_id}.
  'utterances',
  // POST P/uploads: a URL for a recording too large for the body.
  'uploads',
]);

export interface ScopedPath {
  scope: RequestScope;
  version: 'v1' | 'v2' | undefined;
  /** The raw network id segment of a network-scoped path (not yet validated). */
  networkSegment: string | undefined;
  /** The path relative to the scope prefix for scoped requests, the whole path for root requests. */
  path: string;
}

const normalise = (path: string): string => {
  const collapsed = path.replace(/\/{2,}/g, '/');
  return collapsed.length > 1 && collapsed.endsWith('/') ? collapsed.slice(0, -1) : collapsed;
};

/** Split a request path into its scope, version, network id segment and the rest. */
export function splitScope(rawPath: string): ScopedPath {
  const path = normalise(rawPath || '/');
  const match = /^\/api\/(v1|v2)(\/.*)?$/.exec(path);
  if (!match) return { scope: 'root', version: undefined, networkSegment: undefined, path };
  const version = match[1] as 'v1' | 'v2';
  const rest = match[2] ?? '';
  const first = rest.split('/')[1];
  if (!first || ROUTE_GROUPS.has(first)) {
    return { scope: 'token', version, networkSegment: undefined, path: rest };
  }
  return {
    scope: 'network',
    version,
    networkSegment: safeDecode(first) ?? first,
    path: rest.slice(first.length + 1),
  };
}

interface CompiledRoute {
  route: RouteDefinition;
  regex: RegExp;
  paramNames: string[];
  /** Sort key: literal segments before parameters, position by position. */
  specificity: string;
}

/** Orders strings by UTF-16 code units: the same on every machine and locale, and cheap. */
export const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compile(route: RouteDefinition): CompiledRoute {
  const template = normalise(route.path);
  const paramNames: string[] = [];
  const segments = template.split('/').slice(1);
  const pattern = segments
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      paramNames.push(param[1]);
      return param[1] === 'version' ? '(v1|v2)' : '([^/]+)';
    })
    .join('/');
  return {
    route,
    regex: new RegExp(`^/${pattern}$`),
    paramNames,
    specificity: segments.map((s) => (s.startsWith('{') ? '1' : '0')).join(''),
  };
}

export type RouteMatch =
  | { kind: 'found'; route: RouteDefinition; params: Record<string, string>; scoped: ScopedPath }
  | { kind: 'method_not_allowed'; allowed: HttpMethod[] }
  | { kind: 'not_found' }
  | { kind: 'malformed_path' };

/** Matches requests against one context's route table, both scope forms and both API versions. */
export class Router {
  private readonly scoped: CompiledRoute[];
  private readonly root: CompiledRoute[];

  constructor(routes: RouteDefinition[]) {
    // A code-unit comparison, not localeCompare: the strings are '0'/'1' digits, and the first
    // localeCompare of a process builds an ICU collator, 8 to 19 ms of the Lambda's cold init.
    const bySpecificity = (a: CompiledRoute, b: CompiledRoute) =>
      compareCodeUnits(a.specificity, b.specificity);
    this.scoped = routes
      .filter((r) => r.scope === 'scoped')
      .map(compile)
      .sort(bySpecificity);
    this.root = routes
      .filter((r) => r.scope === 'root')
      .map(compile)
      .sort(bySpecificity);
  }

  match(method: string, rawPath: string): RouteMatch {
    // A path that is not valid percent-encoding names nothing: 400, never a guess at what it meant.
    if (safeDecode(rawPath) === undefined) return { kind: 'malformed_path' };
    const scoped = splitScope(rawPath);
    // Root routes are tried on the whole path first: `/api/v1/networks` and `/api/v1/auth/...` live there.
    const wholePath = normalise(rawPath || '/');
    const candidates: Array<[CompiledRoute[], string, ScopedPath]> = [
      [
        this.root,
        wholePath,
        { scope: 'root', version: scoped.version, networkSegment: undefined, path: wholePath },
      ],
    ];
    if (scoped.scope !== 'root') candidates.push([this.scoped, scoped.path || '/', scoped]);

    const allowed = new Set<HttpMethod>();
    for (const [table, path, scope] of candidates) {
      for (const compiled of table) {
        const found = compiled.regex.exec(path);
        if (!found) continue;
        if (compiled.route.method !== method.toUpperCase()) {
          allowed.add(compiled.route.method);
          continue;
        }
        const params: Record<string, string> = {};
        compiled.paramNames.forEach((name, i) => {
          params[name] = safeDecode(found[i + 1])!;
        });
        return { kind: 'found', route: compiled.route, params, scoped: scope };
      }
    }
    return allowed.size ? { kind: 'method_not_allowed', allowed: [...allowed] } : { kind: 'not_found' };
  }
}

/** The decoded text, or undefined for malformed percent-encoding (`%ZZ`, a lone `%`, invalid UTF-8). */
const safeDecode = (value: string): string | undefined => {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
};
