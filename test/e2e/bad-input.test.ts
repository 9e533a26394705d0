import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { signingKey } from '../../shared/auth/tokens';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { createTestApi } from '../helpers/http';

useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();

describe('bad input gets a clear 4xx, never a 500', () => {
  let P: string;

  beforeAll(async () => {
    const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
  });

  it('answers 400 MALFORMED_PATH, with the security headers, to malformed percent-encoding', async () => {
    for (const path of [
      '/api/v1/%ZZ/persons',
      `/api/v1/persons/%E0%A4%A`,
      '/api/v2/%/interactions',
      '/%C0%AF',
    ]) {
      const res = await api.get(path);
      expectError(res, 400, 'MALFORMED_PATH');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers 422 to a NUL character or a lone surrogate in any text, including the unauthenticated login', async () => {
    const cases: Array<[string, unknown]> = [
      [`${P}/persons`, { name: 'Al\u0000ice' }],
      [`${P}/interactions`, { content: 'hi\u0000', interaction_type: 'text' }],
      [`${P}/interactions`, { content: 'hi', interaction_type: 'text', metadata: { 'k\u0000': 1 } }],
      [`${P}/interactions`, { content: 'hi', interaction_type: 'text', metadata: { deep: ['\ud800'] } }],
      ['/api/v1/auth/login', { email: 'a\u0000@example.com', password: 'whatever-long' }],
      ['/api/v1/networks', { name: '\u0000' }],
    ];
    for (const [path, body] of cases) {
      const res = await api.post(path, body);
      expectError(res, 422, 'VALIDATION_ERROR');
    }
    expectError(await api.get(`${P}/conversations?limit=1%00`), 422, 'VALIDATION_ERROR');
  });

  it('answers 422 to JSON nested thousands deep, and keeps answering', async () => {
    const deep = Buffer.from(`{"name": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
    const res = await api.post(`${P}/persons`, deep, { headers: { 'content-type': 'application/json' } });
    expectError(res, 422, 'VALIDATION_ERROR');
    expect((await api.get(`${P}/persons`)).status).toBe(200);
  });

  it('answers 422 to timestamps outside years 1 to 9999', async () => {
    for (const timestamp of ['0000-01-01T00:00:00Z', '9999-12-31T23:00:00-05:00', '2026-02-30T00:00:00Z']) {
      const res = await api.post(`${P}/interactions`, { content: 'x', interaction_type: 'text', timestamp });
      expectError(res, 422, 'VALIDATION_ERROR');
    }
    const fine = await api.post(`${P}/interactions`, {
      content: 'x',
      interaction_type: 'text',
      timestamp: '9999-12-31T00:00:00Z',
    });
    expect(fine.status).toBe(201);
  });

  it('answers 401 to a signed token whose subject is not a UUID, or that never expires', async () => {
    const sign = (claims: Record<string, unknown>, sub: string, expires: boolean) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('mira')
        .setIssuedAt()
        .setSubject(sub);
      if (expires) jwt.setExpirationTime('10m');
      return jwt.sign(signingKey());
    };
    for (const token of [
      await sign({ type: 'access' }, 'not-a-uuid', true),
      await sign({ type: 'access' }, '00000000-0000-4000-8000-000000000000', false),
    ]) {
      const res = await api.get('/api/v1/persons', { token });
      expectError(res, 401, 'INVALID_TOKEN');
    }
  });
});
