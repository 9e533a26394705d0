import * as z from 'zod';
import { config } from '../../shared/config';
import { modelHealth } from '../../shared/ai/health';
import { pingDatabase } from '../../shared/db/client';
import { defineRoute, ok, type RouteDefinition } from '../../shared/http/route';
import { isoTimestamp } from '../../shared/http/validation';
import { docsRoutes } from './docs';

const tag = 'Health';
const startedAt = Date.now();

const rootSchema = z
  .object({
    message: z.literal('Mira Backend API'),
    version: z.string().regex(/^\d+\.\d+\.\d+/),
    status: z.literal('running'),
    stable: z.literal('v1'),
    beta: z.literal('v2'),
  })
  .meta({ id: 'Root' });

const healthSchema = z
  .object({ status: z.literal('healthy'), timestamp: isoTimestamp })
  .meta({ id: 'Health' });

const checkSchema = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  latency_ms: z.number().optional(),
  detail: z.string().optional(),
});

const detailedSchema = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    checks: z.object({
      database: checkSchema,
      external_apis: z.object({
        gemini: z.object({
          status: z.enum(['healthy', 'configured', 'degraded', 'not_configured']),
          detail: z.string().optional(),
          last_success_at: isoTimestamp.optional(),
          last_failure_at: isoTimestamp.optional(),
        }),
      }),
      memory_usage: z.object({ rss_mb: z.number(), heap_used_mb: z.number(), heap_total_mb: z.number() }),
    }),
    version: z.string(),
    uptime: z.number(),
    timestamp: isoTimestamp,
  })
  .meta({ id: 'HealthDetailed' });

const indexSchema = z
  .object({
    version: z.string(),
    network_scoped_prefix: z.string(),
    token_scoped_prefix: z.string(),
    groups: z.record(z.string(), z.object({ network_scoped: z.string(), token_scoped: z.string() })),
    documentation: z.object({ openapi: z.string(), docs: z.string(), redoc: z.string() }),
  })
  .meta({ id: 'ApiIndex' });

const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export const healthRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'API banner: name, version and status',
    responses: { 200: { description: 'The banner', schema: rootSchema } },
    handler: async () =>
      ok({
        message: 'Mira Backend API',
        version: config().appVersion,
        status: 'running',
        stable: 'v1',
        beta: 'v2',
      }),
  }),
  defineRoute({
    method: 'GET',
    path: '/health',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Liveness',
    responses: { 200: { description: 'Alive', schema: healthSchema } },
    handler: async () => ok({ status: 'healthy', timestamp: new Date().toISOString() }),
  }),
  defineRoute({
    method: 'GET',
    path: '/health/detailed',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Readiness: database latency, external APIs, memory; 503 when the database is down',
    responses: {
      200: { description: 'Healthy or degraded', schema: detailedSchema },
      503: { description: 'The database is unreachable', schema: detailedSchema },
    },
    handler: async ({ db }) => {
      const started = performance.now();
      let database: z.infer<typeof checkSchema>;
      try {
        await pingDatabase(db);
        database = { status: 'healthy', latency_ms: Math.round((performance.now() - started) * 100) / 100 };
      } catch {
        database = { status: 'unhealthy', detail: 'database unreachable' };
      }
      // Configured or not is a fact of the deployment; only failures the model really gave degrade it.
      const gemini = modelHealth(Boolean(config().geminiApiKey));
      const memory = process.memoryUsage();
      const status =
        database.status !== 'healthy' ? 'unhealthy' : gemini.status === 'degraded' ? 'degraded' : 'healthy';
      return {
        statusCode: status === 'unhealthy' ? 503 : 200,
        headers: status === 'unhealthy' ? { 'Retry-After': '5' } : undefined,
        body: {
          status,
          checks: {
            database,
            external_apis: { gemini },
            memory_usage: {
              rss_mb: megabytes(memory.rss),
              heap_used_mb: megabytes(memory.heapUsed),
              heap_total_mb: megabytes(memory.heapTotal),
            },
          },
          version: config().appVersion,
          uptime: Math.round((Date.now() - startedAt) / 1000),
          timestamp: new Date().toISOString(),
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/{version}',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Index of route groups and their paths',
    params: z.object({ version: z.enum(['v1', 'v2']) }),
    responses: { 200: { description: 'The index', schema: indexSchema } },
    handler: async ({ params }) => {
      const groups: Record<string, { network_scoped: string; token_scoped: string }> = {};
      for (const group of ['service', 'persons', 'conversations', 'interactions', 'streams', 'actions']) {
        groups[group] = {
          network_scoped: `/api/${params.version}/{network_id}/${group}`,
          token_scoped: `/api/${params.version}/${group}`,
        };
      }
      return ok({
        version: params.version,
        network_scoped_prefix: `/api/${params.version}/{network_id}`,
        token_scoped_prefix: `/api/${params.version}`,
        groups,
        documentation: { openapi: '/openapi.json', docs: '/docs', redoc: '/redoc' },
      });
    },
  }),
  ...docsRoutes,
];
