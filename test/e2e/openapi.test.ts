import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { contexts } from '../../functions/contexts';
import { useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';
import { ERROR_CATALOGUE, httpError, statusOf } from '../../shared/errors';
import { createHandler } from '../../shared/http/pipeline';
import { defineRoute } from '../../shared/http/route';
import { lambdaContext, toApiGatewayEvent } from '../../local/dispatch';

useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();

const allRoutes = contexts.flatMap((c) => c.routes.map((route) => ({ context: c.name, route })));

/** The paths a route is served at, as the document names them. */
const documentedPaths = (route: (typeof allRoutes)[number]['route']) =>
  route.scope === 'root'
    ? [route.path]
    : [`/api/{version}/{network_id}${route.path}`, `/api/{version}${route.path}`];

const collectRefs = (value: unknown, refs: Set<string> = new Set()): Set<string> => {
  if (Array.isArray(value)) value.forEach((v) => collectRefs(v, refs));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') refs.add(v);
      else collectRefs(v, refs);
    }
  }
  return refs;
};

describe('API documentation', () => {
  it('documents every route of every context with a summary and its responses', () => {
    for (const { context, route } of allRoutes) {
      const where = `${context}: ${route.method} ${route.path}`;
      expect({ where, summary: route.summary?.trim().length > 0 }).toEqual({ where, summary: true });
      expect({ where, tag: !!route.tag }).toEqual({ where, tag: true });
      const statuses = Object.keys(route.responses ?? {});
      expect({ where, hasSuccess: statuses.some((s) => s.startsWith('2') || s.startsWith('3')) }).toEqual({
        where,
        hasSuccess: true,
      });
      for (const spec of Object.values(route.responses)) expect(spec.description).toBeTruthy();
    }
  });

  it('serves an OpenAPI 3.1 document with both path forms of every route, and the error shape', async () => {
    const res = await api.get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Mira Backend API', version: expect.any(String) });
    for (const { route } of allRoutes) {
      for (const path of documentedPaths(route)) {
        const operation = doc.paths[path]?.[route.method.toLowerCase()];
        const where = `${route.method} ${path}`;
        expect({ where, documented: !!operation }).toEqual({ where, documented: true });
        expect(operation.summary).toBe(route.summary);
        expect(operation.tags).toEqual([route.tag]);
        for (const status of Object.keys(route.responses)) expect(operation.responses[status]).toBeDefined();
        for (const status of new Set((route.errors ?? []).map(statusOf))) {
          expect(operation.responses[status].content['application/json'].schema).toEqual({
            $ref: '#/components/schemas/Error',
          });
        }
        expect(operation.responses['500']).toBeDefined();
      }
    }
    expect(doc.components.schemas.Error).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['detail', 'error_code', 'timestamp']),
    });
    const missing = [...collectRefs(doc)].filter(
      (ref) => !doc.components.schemas[ref.replace('#/components/schemas/', '')],
    );
    expect(missing).toEqual([]);
  });

  it('carries schemas, parameters and examples from the validating zod schemas', async () => {
    const doc = (await api.get('/openapi.json')).body;
    expect(doc.components.schemas.Person).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['id', 'index', 'conversation_count']),
      example: expect.objectContaining({ name: 'Alice' }),
    });
    const getPerson = doc.paths['/api/{version}/{network_id}/persons/{person_id}'].get;
    expect(getPerson.parameters.map((p: any) => p.name)).toEqual(['version', 'network_id', 'person_id']);
    expect(getPerson.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Person',
    });
    expect(getPerson.responses['404'].description).toContain('PERSON_NOT_FOUND');
    expect(getPerson.responses['422'].description).toContain('VALIDATION_ERROR');
    const listConversations = doc.paths['/api/{version}/conversations'].get;
    expect(listConversations.parameters.find((p: any) => p.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    });
    const patchPerson = doc.paths['/api/{version}/{network_id}/persons/{person_id}'].patch;
    expect(Object.keys(patchPerson.requestBody.content)).toEqual(['application/json', 'multipart/form-data']);
    expect(doc.paths['/api/{version}/networks'].post.requestBody.required).toBe(true);
  });

  it('serves the Swagger UI and Redoc pages and their assets from the project', async () => {
    const docs = await api.get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    expect(docs.text).toContain('/docs/swagger-ui-bundle.js');
    expect(docs.text).not.toMatch(/https?:\/\//);
    expect(docs.headers['content-security-policy']).toContain("script-src 'self'");
    const bundle = await api.get('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
    const zipped = await api.get('/redoc/redoc.standalone.js', {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(zipped.text, 'base64')).length).toBeGreaterThan(100_000);
    const redoc = await api.get('/redoc');
    expect(redoc.text).toContain('<redoc spec-url="/openapi.json">');
    expect((await api.get('/docs/nothing.js')).status).toBe(422);
  });

  it('lists only well-formed codes of the catalogue, each under the status the catalogue gives it', async () => {
    const doc = (await api.get('/openapi.json')).body;
    const seen = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          if (Number(status) < 400) continue;
          const codes: string[] = response['x-error-codes'] ?? [];
          const where = `${method.toUpperCase()} ${path} ${status}`;
          // A non-2xx answer a route documents with its own body (GET /health/detailed's 503) has no codes.
          const ownBody =
            response.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error';
          expect({ where, listed: codes.length > 0 || ownBody }).toEqual({ where, listed: true });
          for (const code of codes) {
            seen.add(code);
            expect({ where, code, wellFormed: /^[A-Z][A-Z0-9_]*$/.test(code) }).toEqual({
              where,
              code,
              wellFormed: true,
            });
            expect({
              where,
              code,
              status: ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE]?.status,
            }).toEqual({ where, code, status: Number(status) });
          }
        }
      }
    }
    // The credential and outage answers are documented, not only the happy path.
    for (const code of ['TOKEN_REVOKED', 'INVALID_API_KEY', 'DATABASE_UNAVAILABLE', 'MALFORMED_MULTIPART'])
      expect(seen).toContain(code);
  });

  it('fails an answer whose error code its route does not document', async () => {
    const handler = createHandler([
      defineRoute({
        method: 'GET',
        path: '/undocumented',
        scope: 'root',
        tag: 'Health',
        summary: 'Throws a code it does not list',
        responses: { 200: { description: 'Never' } },
        errors: ['PERSON_NOT_FOUND'],
        handler: async () => {
          throw httpError('ACTION_NOT_FOUND');
        },
      }),
    ]);
    const event = toApiGatewayEvent({
      method: 'GET',
      url: '/undocumented',
      headers: {},
      body: Buffer.alloc(0),
    });
    const answer = await handler(event, lambdaContext('mira-test'));
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body as string).detail).toContain(
      'ACTION_NOT_FOUND, which it does not document',
    );
  });
});
