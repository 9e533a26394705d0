import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { contexts, defaultContextName, NON_HTTP_FUNCTIONS } from '../../functions/contexts';
import {
  API_VERSIONS,
  generateApiRoutes,
  HTTP_API_ROUTE_QUOTA,
  selectApiRoute,
  type RouteTable,
} from '../../lib/api-routes';
import { ROOT } from '../../lib/config/build';
import type { RouteDefinition } from '../../shared/http/route';
import { Router } from '../../shared/http/router';

const NETWORK_ID = '3f8a2a5e-6f1b-4c57-9d0e-2b7c1f4e9a10';

/** A concrete request path for a route template: parameters filled, `{version}` expanded. */
const fill = (path: string, version: string) =>
  path.replaceAll('{version}', version).replace(/\{(\w+)\}/g, (_, name: string) => `sample-${name}`);

/** Every request path a client may use for a route: both versions, and both scope forms when scoped. */
function requestPaths(route: RouteDefinition): string[] {
  return API_VERSIONS.flatMap((v) =>
    route.scope === 'scoped'
      ? [`/api/${v}/${NETWORK_ID}${fill(route.path, v)}`, `/api/${v}${fill(route.path, v)}`]
      : [fill(route.path, v)],
  );
}

const functionFolders = readdirSync(join(ROOT, 'functions')).filter((name) =>
  statSync(join(ROOT, 'functions', name)).isDirectory(),
);

describe('contexts and function folders', () => {
  it('has a context entry for every function folder except the migrate and realtime functions', () => {
    const names = contexts.map((c) => c.name);
    const missing = functionFolders.filter(
      (folder) => !NON_HTTP_FUNCTIONS.includes(folder) && !names.includes(folder),
    );

    expect(missing).toEqual([]);
  });

  it('has a handler and a folder for every context', () => {
    const withoutHandler = [...contexts.map((c) => c.name), ...NON_HTTP_FUNCTIONS].filter(
      (name) => !existsSync(join(ROOT, 'functions', name, 'handler.ts')),
    );

    expect(withoutHandler).toEqual([]);
  });

  it('serves unknown paths from a context that exists', () => {
    expect(contexts.map((c) => c.name)).toContain(defaultContextName);
  });
});

describe('HTTP API routes generated from the route tables', () => {
  const apiRoutes = generateApiRoutes(contexts);

  it('leaves the streaming contexts to their Function URLs: no HTTP API route is theirs', () => {
    const streaming = contexts.filter((c) => c.streaming).map((c) => c.name);
    expect(streaming).toEqual(['voice']);
    expect(apiRoutes.filter((r) => streaming.includes(r.context))).toEqual([]);
  });

  it('routes every path of every route table to its own context, in both versions and scope forms', () => {
    const misrouted: string[] = [];
    for (const context of contexts.filter((c) => !c.streaming)) {
      const router = new Router(context.routes);
      for (const route of context.routes) {
        for (const path of requestPaths(route)) {
          // The context's own router must also accept what API Gateway sends it.
          expect({ path, kind: router.match(route.method, path).kind }).toEqual({ path, kind: 'found' });
          const selected = selectApiRoute(apiRoutes, path)?.context ?? defaultContextName;
          if (selected !== context.name)
            misrouted.push(`${route.method} ${path} -> ${selected}, not ${context.name}`);
        }
      }
    }

    expect(misrouted).toEqual([]);
  });

  it('stays well inside the HTTP API route quota', () => {
    expect(apiRoutes.length).toBeLessThanOrEqual(HTTP_API_ROUTE_QUOTA / 2);
  });

  it('uses greedy variables only as the last segment and no named variable but network_id', () => {
    for (const { path } of apiRoutes) {
      const variables = path.match(/\{[^}]+\}/g) ?? [];
      expect(variables.every((v) => v === '{network_id}' || v === '{proxy+}')).toBe(true);
      if (path.includes('{proxy+}')) expect(path.endsWith('/{proxy+}')).toBe(true);
    }
  });

  it('refuses two contexts claiming the same path', () => {
    const clash: RouteTable[] = [
      { name: 'a', routes: [{ ...contexts[0].routes[0], scope: 'scoped', path: '/things' }] },
      { name: 'b', routes: [{ ...contexts[0].routes[0], scope: 'scoped', path: '/things/{id}' }] },
    ];
    const same: RouteTable[] = [
      { name: 'a', routes: [{ ...contexts[0].routes[0], scope: 'scoped', path: '/things' }] },
      { name: 'b', routes: [{ ...contexts[0].routes[0], scope: 'scoped', path: '/things' }] },
    ];

    expect(() => generateApiRoutes(clash)).not.toThrow();
    expect(() => generateApiRoutes(same)).toThrow(/claimed by both a and b/);
  });

  it('refuses a scoped route whose first segment is a variable', () => {
    const tables: RouteTable[] = [
      { name: 'a', routes: [{ ...contexts[0].routes[0], scope: 'scoped', path: '/{thing_id}' }] },
    ];

    expect(() => generateApiRoutes(tables)).toThrow(/literal group segment/);
  });
});
