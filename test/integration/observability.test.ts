import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// This file turns structured logs and EMF metrics on (the other suites keep them quiet), before the
// pipeline's module singletons are created.
process.env.LOG_LEVEL = 'INFO';
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

const { useTestDatabase } = await import('../helpers/db');
const { createTestApi } = await import('../helpers/http');

useTestDatabase();
const api = createTestApi();

describe('observability', () => {
  let lines: string[] = [];
  const spies: Array<ReturnType<typeof vi.spyOn>> = [];

  beforeAll(() => {
    for (const stream of [process.stdout, process.stderr]) {
      spies.push(
        vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          return true;
        }),
      );
    }
  });
  afterAll(() => spies.forEach((spy) => spy.mockRestore()));

  const records = () =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, any>];
      } catch {
        return [];
      }
    });

  it('logs one structured line per request with route, network, status and duration', async () => {
    lines = [];
    const network = (await api.post('/api/v1/networks', { name: 'Home' })).body;
    await api.get(`/api/v1/${network.id}/service/info`);
    const log = records().find((r) => r.message === 'request completed' && r.route === 'GET P/service/info');
    expect(log).toMatchObject({
      level: 'INFO',
      network_id: network.id,
      status: 200,
      duration_ms: expect.any(Number),
      request_id: expect.any(String),
    });
  });

  it('emits request count, latency and client errors as CloudWatch EMF in the Mira namespace', async () => {
    lines = [];
    await api.get('/api/v1/00000000-0000-4000-8000-000000000000/service/info');
    const emf = records().find((r) => r._aws && r.route === 'GET P/service/info');
    expect(emf?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Mira',
      Dimensions: [expect.arrayContaining(['service', 'route'])],
    });
    expect(emf).toMatchObject({ RequestCount: 1, ClientErrors: 1, Latency: expect.any(Number) });
  });

  it('writes one line per request: the log line is also its EMF document', async () => {
    await api.get('/health');
    lines = [];
    for (let i = 0; i < 3; i++) await api.get('/health');
    const written = records();
    expect(written).toHaveLength(3);
    for (const line of written) {
      expect(line).toMatchObject({ message: 'request completed', route: 'GET /health', status: 200 });
      expect(line._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toContain(
        'RequestCount',
      );
      expect(line).toMatchObject({ service: expect.any(String), RequestCount: 1 });
    }
  });

  it('hides internals of a thrown error and logs it', async () => {
    lines = [];
    const { createHandler } = await import('../../shared/http/pipeline');
    const { defineRoute } = await import('../../shared/http/route');
    const { lambdaContext, toApiGatewayEvent } = await import('../../local/dispatch');
    const handler = createHandler([
      defineRoute({
        method: 'GET',
        path: '/boom',
        scope: 'root',
        access: 'public',
        tag: 't',
        summary: 'fails',
        responses: { 200: { description: 'never' } },
        handler: async () => {
          throw new Error('SELECT secret FROM internals');
        },
      }),
    ]);
    const res = await handler(
      toApiGatewayEvent({ method: 'GET', url: '/boom', headers: {}, body: Buffer.alloc(0) }),
      lambdaContext('t'),
    );
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body!)).toEqual({
      detail: 'Internal server error',
      error_code: 'INTERNAL_ERROR',
      timestamp: expect.any(String),
    });
    expect(res.body).not.toContain('secret');
    expect(records().some((r) => r.level === 'ERROR' && r.message === 'unhandled error')).toBe(true);
    expect(records().find((r) => r._aws && r.Errors === 1)).toBeDefined();
  });
});
