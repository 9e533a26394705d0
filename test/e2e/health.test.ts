import { describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { setDb, type Db } from '../../shared/db/client';
import { useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';

const database = useTestDatabase();
const api = createTestApi();

describe('health context', () => {
  it('answers the banner at the root with a semver version', async () => {
    const res = await api.get('/');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: 'Mira Backend API',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      status: 'running',
      stable: 'v1',
      beta: 'v2',
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers liveness and a detailed check with the database latency', async () => {
    expect((await api.get('/health')).body).toEqual({ status: 'healthy', timestamp: expect.any(String) });
    const res = await api.get('/health/detailed');
    expect(res.status).toBe(200);
    expect(res.body.checks.database).toEqual({ status: 'healthy', latency_ms: expect.any(Number) });
    expect(res.body.checks.memory_usage.rss_mb).toBeGreaterThan(0);
  });

  it('answers 503 unhealthy when the database is unreachable', async () => {
    const dead: Db = new Kysely({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 500 }),
      }),
    });
    setDb(dead);
    try {
      const res = await api.get('/health/detailed');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('unhealthy');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      setDb(database.db);
      await dead.destroy();
    }
  });

  it('lists the route groups at /api/v1/', async () => {
    const res = await api.get('/api/v1/');
    expect(res.status).toBe(200);
    expect(res.body.groups.persons).toEqual({
      network_scoped: '/api/v1/{network_id}/persons',
      token_scoped: '/api/v1/persons',
    });
  });

  it('answers CORS preflight requests', async () => {
    const res = await api.request('OPTIONS', '/api/v1/networks', {
      headers: { origin: 'http://localhost:4280', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBeDefined();
  });
});
