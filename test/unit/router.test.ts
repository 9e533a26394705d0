import { describe, expect, it } from 'vitest';
import { defineRoute, ok } from '../../shared/http/route';
import { Router, splitScope } from '../../shared/http/router';

const route = (method: 'GET' | 'POST' | 'DELETE', path: string, scope: 'scoped' | 'root' = 'scoped') =>
  defineRoute({
    method,
    path,
    scope,
    tag: 't',
    summary: 's',
    responses: { 200: { description: 'ok' } },
    handler: async () => ok({}),
  });

describe('splitScope', () => {
  it('reads a UUID-like segment after /api/vN/ as a network id and a route group as token scope', () => {
    expect(splitScope('/api/v1/0b6e/persons/all')).toEqual({
      scope: 'network',
      version: 'v1',
      networkSegment: '0b6e',
      path: '/persons/all',
    });
    expect(splitScope('/api/v2/persons/all/')).toEqual({
      scope: 'token',
      version: 'v2',
      networkSegment: undefined,
      path: '/persons/all',
    });
    expect(splitScope('/health')).toMatchObject({ scope: 'root', path: '/health' });
  });
});

describe('Router', () => {
  const router = new Router([
    route('GET', '/persons/{person_id}'),
    route('GET', '/persons/all'),
    route('DELETE', '/persons/{person_id}'),
    route('POST', '/api/{version}/networks', 'root'),
  ]);

  it('prefers literal segments over parameters', () => {
    const match = router.match('GET', '/api/v1/3f7e2c8e-1111-4111-8111-111111111111/persons/all');
    expect(match.kind === 'found' && match.route.path).toBe('/persons/all');
  });

  it('decodes path parameters and reports the allowed methods of a known path', () => {
    const match = router.match('GET', '/api/v2/persons/a%20b');
    expect(match).toMatchObject({ kind: 'found', params: { person_id: 'a b' } });
    expect(router.match('POST', '/api/v1/persons/x')).toEqual({
      kind: 'method_not_allowed',
      allowed: ['GET', 'DELETE'],
    });
    expect(router.match('GET', '/api/v1/nothing')).toEqual({ kind: 'not_found' });
  });

  it('matches root routes with a version placeholder before scoped ones', () => {
    expect(router.match('POST', '/api/v2/networks')).toMatchObject({
      kind: 'found',
      params: { version: 'v2' },
    });
    expect(router.match('POST', '/api/v3/networks')).toEqual({ kind: 'not_found' });
  });
});
