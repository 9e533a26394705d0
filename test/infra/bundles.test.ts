import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AUDIO_FUNCTIONS,
  contexts,
  defaultContextName,
  MIGRATE_FUNCTION,
  NON_HTTP_FUNCTIONS,
  REALTIME_FUNCTION,
} from '../../functions/contexts';
import { CA_BUNDLE_FILE, COMPILE_CACHE_DIR } from '../../lib/config/build';
import { buildBundle, functionNames, type BundleResult } from '../../scripts/build-bundles';
import { probeBundle, startFakeSecretsManager } from '../../scripts/probe-bundle';
import { signAccessToken } from '../../shared/auth/tokens';
import { createNetwork } from '../../shared/db/repositories/networks';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { apiEvent, networkReadRequest, webSocketEvent, wrongMethodRequest } from '../helpers/bundles';

/**
 * Builds every function's bundle exactly as functions/Dockerfile does (same script), each into an empty
 * temporary folder holding only its production externals, and runs it in a fresh Node process with API
 * Gateway v2 events. The network-scoped reads run against a real PostgreSQL when DATABASE_URL is set.
 */
const work = mkdtempSync(join(tmpdir(), 'mira-bundles-'));
const built = new Map<string, BundleResult>();
/** Nothing listens here: the driver connects lazily, so requests that never query still work. */
const NO_DATABASE = 'postgres://nobody@127.0.0.1:9/none';
let database: TestDatabase | undefined;

beforeAll(async () => {
  for (const name of functionNames()) built.set(name, await buildBundle(name, join(work, name)));
  if (process.env.DATABASE_URL) database = await createTestDatabase();
}, 180_000);

afterAll(async () => {
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
});

const isMiraError = (body: string | undefined) => {
  const parsed = JSON.parse(body ?? '{}');
  return (
    typeof parsed.detail === 'string' &&
    typeof parsed.error_code === 'string' &&
    typeof parsed.timestamp === 'string'
  );
};

describe('function bundles', () => {
  it('builds one bundle per context, one for migrations and one for the realtime socket', () => {
    expect([...built.keys()].sort()).toEqual([...contexts.map((c) => c.name), ...NON_HTTP_FUNCTIONS].sort());
  });

  it('holds only the handler, its production externals, the RDS CA bundle and (audio only) models', () => {
    for (const [name, bundle] of built) {
      const entries = readdirSync(bundle.outDir).sort();
      const allowed = [
        'index.mjs',
        COMPILE_CACHE_DIR,
        'package.json',
        CA_BUNDLE_FILE,
        'node_modules',
        ...(AUDIO_FUNCTIONS.has(name) ? ['models'] : []),
        ...(name === defaultContextName ? ['openapi.json'] : []),
      ];
      expect(entries.filter((e) => !allowed.includes(e))).toEqual([]);
      if (!AUDIO_FUNCTIONS.has(name))
        expect(Object.keys(bundle.dependencies)).not.toContain('onnxruntime-node');
      for (const dependency of Object.keys(bundle.dependencies)) {
        expect(existsSync(join(bundle.outDir, 'node_modules', dependency, 'package.json'))).toBe(true);
      }
      const ca = readFileSync(join(bundle.outDir, CA_BUNDLE_FILE), 'utf8');
      expect(ca.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(10);
    }
  });

  it('answers GET / from the health bundle', async () => {
    const { invocations } = await probeBundle(built.get(defaultContextName)!.outDir, [apiEvent('GET', '/')], {
      DATABASE_URL: NO_DATABASE,
      VALIDATE_RESPONSES: 'true',
    });

    expect(invocations[0].statusCode).toBe(200);
    expect(JSON.parse(invocations[0].body!)).toMatchObject({
      message: 'Mira Backend API',
      status: 'running',
    });
  });

  it('serves the API reference from the health bundle alone: the document of every context and the pages', async () => {
    const { invocations } = await probeBundle(
      built.get(defaultContextName)!.outDir,
      [
        apiEvent('GET', '/openapi.json'),
        apiEvent('GET', '/docs'),
        apiEvent('GET', '/docs/swagger-ui-bundle.js'),
      ],
      { DATABASE_URL: NO_DATABASE },
    );

    const [document, page, script] = invocations;
    expect(document.statusCode).toBe(200);
    const paths = Object.keys(JSON.parse(document.body!).paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/api/{version}/{network_id}/interactions/register', '/api/{version}/persons']),
    );
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    expect(script.statusCode).toBe(200);
  });

  it('reads its secrets from Secrets Manager during init, before the first request', async () => {
    const secretsManager = await startFakeSecretsManager({
      'arn:app': { GEMINI_API_KEY: 'gemini-key', JWT_SECRET: 'jwt-secret' },
      'arn:db': { username: 'mira', password: 'secret', dbname: 'mira', port: 9 },
    });
    try {
      const { invocations } = await probeBundle(
        built.get(defaultContextName)!.outDir,
        [apiEvent('GET', '/health/detailed')],
        {
          ...secretsManager.env,
          APP_SECRET_ARN: 'arn:app',
          DB_SECRET_ARN: 'arn:db',
          DB_PROXY_ENDPOINT: '127.0.0.1',
        },
      );

      // The Gemini key came from the app secret; the database URL (TLS, port 9) from the RDS secret.
      expect(secretsManager.calls.sort()).toEqual(['arn:app', 'arn:db']);
      const body = JSON.parse(invocations[0].body!);
      expect(body.checks.external_apis.gemini.status).toBe('healthy');
      expect(body.checks.database.status).toBe('unhealthy');
    } finally {
      await secretsManager.close();
    }
  });

  it.each(contexts.map((c) => c.name))(
    "routes a request through the %s bundle to Mira's error shape",
    async (name) => {
      const context = contexts.find((c) => c.name === name)!;

      const { invocations } = await probeBundle(built.get(name)!.outDir, [wrongMethodRequest(context)], {
        DATABASE_URL: NO_DATABASE,
      });

      expect(invocations[0].error).toBeUndefined();
      expect(invocations[0].statusCode).toBe(405);
      expect(isMiraError(invocations[0].body)).toBe(true);
    },
  );

  const withDatabase = process.env.DATABASE_URL ? it : it.skip;

  withDatabase('serves a network-scoped read from each context bundle against PostgreSQL', async () => {
    const network = await createNetwork(database!.db, 'Bundle smoke test');
    // The network's owner calls, so the bundles check a real token against the database (no legacy mode).
    const owner = await database!.db
      .insertInto('users')
      .values({ email: 'owner@bundle.test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database!.db
      .insertInto('network_members')
      .values({ network_id: network.id, user_id: owner.id, role: 'owner' })
      .execute();
    const token = await signAccessToken(owner.id);
    let served = 0;
    for (const context of contexts) {
      const request = networkReadRequest(context, network.id);
      if (!request) continue;
      request.event.headers.authorization = `Bearer ${token}`;
      const { invocations } = await probeBundle(built.get(context.name)!.outDir, [request.event], {
        DATABASE_URL: database!.url,
        LEGACY_NETWORK_AUTH: 'false',
        JWT_SECRET: process.env.JWT_SECRET!,
        // The response is checked against its zod schema inside the bundle (zod as bundled, tree-shaken).
        VALIDATE_RESPONSES: 'true',
      });
      expect({ context: context.name, status: invocations[0].statusCode }).toEqual({
        context: context.name,
        status: 200,
      });
      served++;
    }
    expect(served).toBeGreaterThan(0);
  });

  withDatabase('runs migrations from the migrate bundle on {"action": "run_migrations"}', async () => {
    const { invocations } = await probeBundle(
      built.get(MIGRATE_FUNCTION)!.outDir,
      [{ action: 'run_migrations' }],
      {
        DATABASE_URL: database!.url,
      },
    );

    expect(invocations[0].result).toEqual({ action: 'run_migrations', applied: [] });
  });

  it('refuses a realtime connection without a token, before any database work', async () => {
    const { invocations } = await probeBundle(
      built.get(REALTIME_FUNCTION)!.outDir,
      [webSocketEvent('$connect', 'c1', { queryStringParameters: { client_id: 'desk' } })],
      { DATABASE_URL: NO_DATABASE },
    );

    expect(invocations[0].statusCode).toBe(401);
    expect(isMiraError(invocations[0].body)).toBe(true);
  });

  withDatabase(
    'opens, pings and closes a realtime connection with a user token against PostgreSQL',
    async () => {
      const network = await createNetwork(database!.db, 'Realtime bundle');
      const user = await database!.db
        .insertInto('users')
        .values({ email: 'realtime@bundle.test' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await database!.db
        .insertInto('network_members')
        .values({ network_id: network.id, user_id: user.id, role: 'owner' })
        .execute();
      const token = await signAccessToken(user.id);

      const { invocations } = await probeBundle(
        built.get(REALTIME_FUNCTION)!.outDir,
        [
          webSocketEvent('$connect', 'bundle-conn=', { queryStringParameters: { token, client_id: 'desk' } }),
          webSocketEvent('$default', 'bundle-conn=', { body: '{"type":"ping"}' }),
        ],
        { DATABASE_URL: database!.url, JWT_SECRET: process.env.JWT_SECRET! },
      );

      expect(invocations.map(({ statusCode, body }) => ({ statusCode, body }))).toEqual([
        { statusCode: 200, body: undefined },
        { statusCode: 200, body: '{"type":"pong"}' },
      ]);
      const rows = await database!.db.selectFrom('realtime_connections').selectAll().execute();
      expect(rows).toMatchObject([
        { connection_id: 'bundle-conn=', network_id: network.id, client_id: 'desk' },
      ]);

      await probeBundle(
        built.get(REALTIME_FUNCTION)!.outDir,
        [webSocketEvent('$disconnect', 'bundle-conn=')],
        {
          DATABASE_URL: database!.url,
        },
      );
      expect(await database!.db.selectFrom('realtime_connections').selectAll().execute()).toEqual([]);
    },
  );

  it('refuses an unknown action in the migrate bundle', async () => {
    const { invocations } = await probeBundle(built.get(MIGRATE_FUNCTION)!.outDir, [{ action: 'drop' }], {
      DATABASE_URL: NO_DATABASE,
    });

    expect(invocations[0].error?.name).toBe('UnknownActionError');
  });
});
