import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import {
  allFunctions,
  AUDIO_FUNCTIONS,
  contexts,
  defaultContextName,
  MIGRATE_FUNCTION,
  NON_HTTP_FUNCTIONS,
  REALTIME_FUNCTION,
  WORKER_FUNCTION,
} from '../../functions/contexts';
import { CA_BUNDLE_FILE, COMPILE_CACHE_DIR, MODELS_DIR, ROOT } from '../../lib/config/build';
import { migrations } from '../../migrations';
import { buildBundle, functionNames, type BundleResult } from '../../scripts/build-bundles';
import {
  lambdaEnvironment,
  probeBundle,
  stageImage,
  startFakeSecretsManager,
  startFakeXRayDaemon,
  type Invocation,
  type StagedImage,
  type XRayDocument,
} from '../../scripts/probe-bundle';
import { DEFAULT_SPEAKER_MODEL_FILE, VAD_MODEL_FILE } from '../../shared/audio/models';
import { signAccessToken } from '../../shared/auth/tokens';
import { createNetwork } from '../../shared/db/repositories/networks';
import { insertUtterance } from '../../shared/db/repositories/utterances';
import { folderStorage } from '../../shared/storage';
import { fixture } from '../helpers/audio';
import { reply, startFakeGemini } from '../helpers/fake-gemini';
import { apiEvent, webSocketEvent, wrongMethodRequest } from '../helpers/bundles';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { multipart } from '../helpers/http';

/**
 * Every function's image, proven in isolation. The bundle is built by the script functions/Dockerfile's
 * build stage runs (into an "asset" folder, as /asset there); then the runtime stage's own steps (its
 * `COPY --from=build` and ENV, replayed by stageImage) put it into an empty folder outside the repository,
 * with no node_modules above it; each request runs in a fresh Node process there, as Lambda runs the image.
 * Each function then does its real work against a real PostgreSQL (DATABASE_URL; .ci/run sets it): the audio
 * contexts take real speech, the others serve a representative route, migrate migrates an empty database,
 * realtime opens and pings a socket. Removing a model file or a runtime dependency makes that work fail.
 */
const work = mkdtempSync(join(tmpdir(), 'mira-images-'));
const built = new Map<string, BundleResult>();
const images = new Map<string, StagedImage>();
/** Nothing listens here: the driver connects lazily, so requests that never query still work. */
const NO_DATABASE = 'postgres://nobody@127.0.0.1:9/none';
const withDatabase = process.env.DATABASE_URL ? it : it.skip;

let database: TestDatabase | undefined;
interface Seed {
  networkId: string;
  token: string;
  /** A client registered in the network, for the uploads. */
  clientId: string;
}
let seed: Seed;

beforeAll(async () => {
  for (const name of functionNames()) {
    const bundle = await buildBundle(name, join(work, 'asset', name));
    built.set(name, bundle);
    images.set(name, stageImage(bundle.outDir, join(work, 'task', name)));
  }
  if (!process.env.DATABASE_URL) return;
  database = await createTestDatabase();
  const network = await createNetwork(database.db, 'Image smoke test');
  // The network's owner calls, so the bundles check a real token against the database (no legacy mode).
  const owner = await database.db
    .insertInto('users')
    .values({ email: 'owner@images.test' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await database.db
    .insertInto('network_members')
    .values({ network_id: network.id, user_id: owner.id, role: 'owner' })
    .execute();
  await database.db
    .insertInto('network_clients')
    .values({ network_id: network.id, client_id: 'kitchen', metadata: '{}' })
    .execute();
  seed = { networkId: network.id, token: await signAccessToken(owner.id), clientId: 'kitchen' };
}, 240_000);

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

/** The image's environment plus what Lambda and the CDK app would set. */
const runIn = (dir: string, name: string, events: unknown[], env: Record<string, string> = {}) =>
  probeBundle(dir, events, {
    ...images.get(name)!.env,
    DATABASE_URL: database?.url ?? NO_DATABASE,
    JWT_SECRET: process.env.JWT_SECRET!,
    LEGACY_NETWORK_AUTH: 'false',
    // Every answer is checked against its route's zod schema inside the bundle (zod as bundled).
    VALIDATE_RESPONSES: 'true',
    // Accepted audio, shared by the interactions and worker images as the bucket is in AWS.
    MIRA_STORAGE_DIR: join(work, 'audio'),
    ...env,
  });

/** An API Gateway v2 event of the seeded network's owner; a multipart form or JSON body. */
function request(method: string, path: string, body?: ReturnType<typeof multipart> | object) {
  const form = body && 'contentType' in body && 'buffer' in body ? body : undefined;
  return apiEvent(method, path, {
    headers: { authorization: `Bearer ${seed.token}`, ...(form ? { 'content-type': form.contentType } : {}) },
    body: form ? form.buffer : body,
  });
}

const P = () => `/api/v1/${seed.networkId}`;
const mp3 = (name: string) => ({ filename: name, content: fixture(name), mimetype: 'audio/mpeg' });

/** One answer, parsed, that must be the given status. */
function answer(invocation: Invocation, status: number | number[]) {
  const expected = [status].flat();
  const got = {
    status: invocation.statusCode,
    error: invocation.error,
    body: invocation.body?.slice(0, 300),
  };
  if (!expected.includes(invocation.statusCode!)) {
    throw new Error(`expected ${expected.join(' or ')}, got ${JSON.stringify(got)}`);
  }
  return invocation.body ? JSON.parse(invocation.body) : undefined;
}

const between = (value: unknown, low: number, high: number) =>
  typeof value === 'number' && Number.isFinite(value) && value >= low && value <= high;

/**
 * What each function is for, done by its image in folder `dir` against the test database; throws when
 * the work fails. A new function must add its work here (a test checks every function has one).
 */
const realWork: Record<string, (dir: string) => Promise<void>> = {
  memories: async (dir) => {
    const { invocations } = await runIn(dir, 'memories', [request('GET', `${P()}/memories`)]);
    expect(answer(invocations[0], 200)).toEqual([]);
  },
  voice: async (dir) => {
    // Without Gemini the command is refused before any audio work, in Mira's error shape.
    const { invocations } = await runIn(dir, 'voice', [
      request(
        'POST',
        `${P()}/actions/voice`,
        multipart({ audio: mp3('voice-a-1.mp3'), client_id: 'kitchen' }),
      ),
    ]);
    expect(answer(invocations[0], [404, 503]).error_code).toMatch(/CLIENT_NOT_FOUND|COMMAND_UNAVAILABLE/);
  },
  health: async (dir) => {
    const { invocations } = await runIn(dir, 'health', [apiEvent('GET', '/health/detailed')]);
    const body = answer(invocations[0], 200);
    expect(body.checks.database.status).toBe('healthy');
  },
  service: async (dir) => {
    const { invocations } = await runIn(dir, 'service', [
      request('POST', `${P()}/service/client/register/desk-${Date.now()}`),
      request('GET', `${P()}/service/info`),
    ]);
    answer(invocations[0], [200, 201]);
    const info = answer(invocations[1], 200);
    expect(JSON.stringify(info)).toContain('kitchen');
  },
  persons: async (dir) => {
    const created = await runIn(dir, 'persons', [request('POST', `${P()}/persons`, { name: 'Alice' })]);
    const person = answer(created.invocations[0], 201);
    const enrolled = await runIn(dir, 'persons', [
      request('POST', `${P()}/persons/${person.id}/voice`, multipart({ audio_file: mp3('voice-a-1.mp3') })),
    ]);
    expect(answer(enrolled.invocations[0], 200)).toMatchObject({ id: person.id, has_voice_embedding: true });
    const stored = await database!.db
      .selectFrom('persons')
      .select(['voice_sample_count', 'voice_embedding'])
      .where('id', '=', person.id)
      .executeTakeFirstOrThrow();
    expect(stored.voice_sample_count).toBe(1);
    expect((stored.voice_embedding as number[]).length).toBeGreaterThan(16);
  },
  conversations: async (dir) => {
    const { invocations } = await runIn(dir, 'conversations', [request('GET', `${P()}/conversations`)]);
    expect(answer(invocations[0], 200)).toBeDefined();
  },
  interactions: async (dir) => {
    const transcript = 'The weather is lovely today';
    const { invocations } = await runIn(dir, 'interactions', [
      request(
        'POST',
        `${P()}/interactions/register`,
        multipart({
          audio: mp3('voice-b-1.mp3'),
          client_id: seed.clientId,
          captured_at: new Date().toISOString(),
          transcript,
        }),
      ),
    ]);
    const body = answer(invocations[0], 201);
    expect(body).toMatchObject({ client_id: seed.clientId, interaction_type: 'audio', text: transcript });
    expect(body.metadata.transcript_source).toBe('client');
    // A voice heard once is a provisional cluster (issue 15): the image's speaker model and its card ran.
    expect(body.metadata.speaker).toMatchObject({
      outcome: 'unknown',
      reason: 'provisional',
      cluster_id: expect.any(String),
    });
    expect(body.person_id).toBeNull();
    expect(between(body.metadata.quality.score, 1, 100)).toBe(true);
    expect(between(body.metadata.quality.snr_db, 0, 120)).toBe(true);
  },
  actions: async (dir) => {
    const { invocations } = await runIn(dir, 'actions', [request('GET', `${P()}/actions`)]);
    expect(answer(invocations[0], 200)).toBeDefined();
  },
  streams: async (dir) => {
    // FLAC (44.1 kHz stereo, 24-bit) and WAV (8 kHz, 8-bit): every decoder and the resampler, as bundled.
    const samples = [
      { filename: 'speech-44k-stereo-24bit.flac', format: 'flac', mimetype: 'audio/flac' },
      { filename: 'speech-8k-u8.wav', format: 'wav', mimetype: 'audio/wav' },
    ];
    const { invocations } = await runIn(
      dir,
      'streams',
      samples.map(({ filename, mimetype }) =>
        request(
          'POST',
          `${P()}/streams/${seed.clientId}/audio`,
          multipart({ audio_data: { filename, content: fixture(filename), mimetype } }),
        ),
      ),
    );
    for (const [i, { format }] of samples.entries()) {
      const body = answer(invocations[i], 200);
      expect(body).toMatchObject({ client_id: seed.clientId, sample: { format } });
      expect(between(body.sample.duration_s, 1, 30)).toBe(true);
      expect(between(body.sample.speech_ratio, 0.05, 1)).toBe(true);
      expect(between(body.sample.snr, 0, 120)).toBe(true);
      expect(between(body.sample.score, 1, 100)).toBe(true);
      expect(between(body.current_score, 1, 100)).toBe(true);
      expect(typeof body.is_best_stream).toBe('boolean');
    }
  },
  auth: async (dir) => {
    const credentials = { email: `user-${Date.now()}@images.test`, password: 'correct horse battery staple' };
    const { invocations } = await runIn(dir, 'auth', [
      apiEvent('POST', '/api/v1/auth/register', { body: credentials }),
      apiEvent('POST', '/api/v1/auth/login', {
        body: { email: credentials.email, password: credentials.password },
      }),
    ]);
    expect(answer(invocations[0], 201).access_token).toEqual(expect.any(String));
    expect(answer(invocations[1], 200).access_token).toEqual(expect.any(String));
  },
  [MIGRATE_FUNCTION]: async (dir) => {
    const empty = await createTestDatabase({ migrate: false });
    try {
      const { invocations } = await runIn(
        dir,
        MIGRATE_FUNCTION,
        [{ action: 'run_migrations' }, { action: 'run_migrations' }],
        { DATABASE_URL: empty.url! },
      );
      expect(invocations.map((i) => i.error ?? i.result)).toEqual([
        { action: 'run_migrations', applied: Object.keys(migrations) },
        { action: 'run_migrations', applied: [] },
      ]);
    } finally {
      await empty.drop();
    }
  },
  [WORKER_FUNCTION]: async (dir) => {
    // An accepted copy (as the interactions image leaves it: audio stored, row recorded), then its SQS
    // message, delivered twice in one batch: stored once, no batch item failure.
    const id = randomUUID();
    const audioKey = `${seed.networkId}/${id}`;
    await folderStorage(join(work, 'audio')).put(audioKey, fixture('voice-a-1.mp3'));
    const transcript = 'Processed by the worker image';
    await insertUtterance(database!.db, {
      id,
      audioKey,
      networkId: seed.networkId,
      clientId: seed.clientId,
      capturedAt: new Date(Date.now() - 3_600_000),
      score: 50,
      settleMs: 0,
      rawPcm16: false,
      transcript,
      idempotencyKey: null,
      fingerprint: null,
    });
    const record = (messageId: string) => ({
      messageId,
      body: JSON.stringify({ kind: 'utterance', utteranceId: id }),
      attributes: { ApproximateReceiveCount: '1' },
    });
    const { invocations } = await runIn(dir, WORKER_FUNCTION, [{ Records: [record('m-1'), record('m-2')] }]);
    expect(invocations.map((i) => i.error ?? i.result)).toEqual([{ batchItemFailures: [] }]);
    const stored = await database!.db
      .selectFrom('interactions')
      .select(['text', 'client_id', 'voice_embedding'])
      .where('network_id', '=', seed.networkId)
      .where('text', '=', transcript)
      .execute();
    expect(stored).toHaveLength(1);
    expect((stored[0].voice_embedding as number[]).length).toBeGreaterThan(16);
  },
  [REALTIME_FUNCTION]: async (dir) => {
    const connection = `conn-${Date.now()}=`;
    const { invocations } = await runIn(dir, REALTIME_FUNCTION, [
      webSocketEvent('$connect', connection, {
        queryStringParameters: { token: seed.token, client_id: 'desk' },
      }),
      webSocketEvent('$default', connection, { body: '{"type":"ping"}' }),
    ]);
    expect(invocations.map(({ statusCode, body, error }) => ({ statusCode, body, error }))).toEqual([
      { statusCode: 200, body: undefined, error: undefined },
      { statusCode: 200, body: '{"type":"pong"}', error: undefined },
    ]);
    const rows = await database!.db
      .selectFrom('realtime_connections')
      .selectAll()
      .where('connection_id', '=', connection)
      .execute();
    expect(rows).toMatchObject([{ network_id: seed.networkId, client_id: 'desk' }]);
    await runIn(dir, REALTIME_FUNCTION, [webSocketEvent('$disconnect', connection)]);
    const left = await database!.db
      .selectFrom('realtime_connections')
      .selectAll()
      .where('connection_id', '=', connection)
      .execute();
    expect(left).toEqual([]);
  },
};

/** A copy of a staged image with some of its files removed. */
function brokenCopy(name: string, remove: string): string {
  const dir = join(work, 'broken', `${name}-${remove.replace(/\W+/g, '-')}`);
  cpSync(images.get(name)!.dir, dir, { recursive: true });
  const target = join(dir, remove);
  expect(existsSync(target)).toBe(true);
  rmSync(target, { recursive: true, force: true });
  return dir;
}

describe('function images', () => {
  it('builds one bundle per function of the registry', () => {
    expect([...built.keys()].sort()).toEqual([...contexts.map((c) => c.name), ...NON_HTTP_FUNCTIONS].sort());
    expect(Object.keys(realWork).sort()).toEqual(allFunctions.map((f) => f.name).sort());
  });

  it('stages each image outside the repository, with no node_modules in any folder above it', () => {
    for (const image of images.values()) {
      expect(relative(ROOT, image.dir).startsWith('..')).toBe(true);
      for (let dir = dirname(image.dir); dir !== dirname(dir); dir = dirname(dir)) {
        expect({ dir, nodeModules: existsSync(join(dir, 'node_modules')) }).toEqual({
          dir,
          nodeModules: false,
        });
      }
      // The Dockerfile's ENV came along (the V8 code cache, read from the task root).
      expect(image.env.NODE_COMPILE_CACHE).toBe(join(image.dir, COMPILE_CACHE_DIR));
      expect(image.env.NODE_ENV).toBe('production');
    }
  });

  it('holds only the handler, its production externals, the RDS CA bundle and (audio only) both models', () => {
    for (const [name, image] of images) {
      const bundle = built.get(name)!;
      const entries = readdirSync(image.dir).sort();
      const allowed = [
        'index.mjs',
        COMPILE_CACHE_DIR,
        'package.json',
        CA_BUNDLE_FILE,
        'node_modules',
        ...(AUDIO_FUNCTIONS.has(name) ? [MODELS_DIR] : []),
        ...(name === defaultContextName ? ['openapi.json'] : []),
      ];
      expect(entries.filter((e) => !allowed.includes(e))).toEqual([]);
      if (AUDIO_FUNCTIONS.has(name)) {
        expect(readdirSync(join(image.dir, MODELS_DIR)).sort()).toEqual(
          // The speaker model ships with its card and impostor cohort (issue 15).
          [
            DEFAULT_SPEAKER_MODEL_FILE,
            VAD_MODEL_FILE,
            'mira-speaker-tdnn-v1.card.json',
            'mira-speaker-tdnn-v1.cohort.json',
          ].sort(),
        );
        expect(Object.keys(bundle.dependencies)).toContain('onnxruntime-node');
      } else {
        expect(Object.keys(bundle.dependencies)).not.toContain('onnxruntime-node');
      }
      for (const dependency of Object.keys(bundle.dependencies)) {
        expect(existsSync(join(image.dir, 'node_modules', dependency, 'package.json'))).toBe(true);
      }
      const ca = readFileSync(join(image.dir, CA_BUNDLE_FILE), 'utf8');
      expect(ca.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(10);
    }
  });
});

describe('each image does its real work, alone', () => {
  withDatabase.each(allFunctions.map((f) => f.name))(
    '%s',
    async (name) => {
      await realWork[name](images.get(name)!.dir);
    },
    120_000,
  );
});

describe('an image missing a file fails its work', () => {
  withDatabase(
    'the streams image without the VAD model',
    async () => {
      await expect(
        realWork.streams(brokenCopy('streams', `${MODELS_DIR}/${VAD_MODEL_FILE}`)),
      ).rejects.toThrow(/expected 200, got .*500/);
    },
    120_000,
  );

  withDatabase(
    'the interactions image without the speaker model',
    async () => {
      await expect(
        realWork.interactions(brokenCopy('interactions', `${MODELS_DIR}/${DEFAULT_SPEAKER_MODEL_FILE}`)),
      ).rejects.toThrow(/expected 201, got .*500/);
    },
    120_000,
  );

  withDatabase(
    'the persons image without onnxruntime-node',
    async () => {
      await expect(realWork.persons(brokenCopy('persons', 'node_modules/onnxruntime-node'))).rejects.toThrow(
        /expected 200, got .*500/,
      );
    },
    120_000,
  );

  withDatabase(
    'the auth image without argon2',
    async () => {
      await expect(realWork.auth(brokenCopy('auth', 'node_modules/argon2'))).rejects.toThrow(/argon2/);
    },
    120_000,
  );
});

describe('tracing inside the images (X-Ray, as in Lambda with active tracing)', () => {
  /** Subsegments by name, each checked to belong to the invocation's trace. */
  function subsegments(documents: XRayDocument[], traceId: string) {
    for (const document of documents) expect(document.trace_id).toBe(traceId);
    const byName = new Map<string, XRayDocument[]>();
    for (const document of documents)
      byName.set(document.name, [...(byName.get(document.name) ?? []), document]);
    return byName;
  }

  withDatabase(
    "shows where an audio upload's time went: handler, database and each audio stage",
    async () => {
      const daemon = await startFakeXRayDaemon();
      try {
        const { invocations } = await runIn(
          images.get('streams')!.dir,
          'streams',
          [
            request(
              'POST',
              `${P()}/streams/${seed.clientId}/audio`,
              multipart({ audio_data: mp3('voice-a-3.mp3') }),
            ),
          ],
          { ...lambdaEnvironment('streams'), ...daemon.env },
        );
        answer(invocations[0], 200);

        const byName = subsegments(daemon.documents, daemon.traceId);
        const [invocation] = byName.get('## index.handler')!;
        expect(invocation.parent_id).toBe(daemon.parentId);
        expect(invocation.annotations).toMatchObject({ ColdStart: true, Service: 'mira-streams' });
        for (const stage of ['audio.decode', 'audio.vad', 'audio.quality', 'db.connect', 'db.query']) {
          const [first] = byName.get(stage) ?? [];
          expect({ stage, parent: first?.parent_id }).toEqual({ stage, parent: invocation.id });
          expect(first.end_time! - first.start_time).toBeGreaterThanOrEqual(0);
          expect(first.end_time!).toBeLessThanOrEqual(invocation.end_time!);
        }
        expect(byName.get('audio.decode')![0].metadata).toEqual({
          default: { mira: { bytes: expect.any(Number) } },
        });
      } finally {
        await daemon.close();
      }
    },
    120_000,
  );

  withDatabase(
    'records the Gemini call and its HTTPS request inside the register request',
    async () => {
      const [daemon, gemini] = await Promise.all([startFakeXRayDaemon(), startFakeGemini()]);
      gemini.enqueue(
        reply.json({
          text: 'Good morning',
          language: 'en-GB',
          entities: [],
          topics: ['greeting'],
          sentiment: 0.2,
        }),
      );
      try {
        const { invocations } = await runIn(
          images.get('interactions')!.dir,
          'interactions',
          [
            request(
              'POST',
              `${P()}/interactions/register`,
              multipart({
                audio: mp3('voice-c-2.mp3'),
                client_id: seed.clientId,
                captured_at: new Date().toISOString(),
              }),
            ),
          ],
          {
            ...lambdaEnvironment('interactions'),
            ...daemon.env,
            GEMINI_API_KEY: 'test-key',
            GEMINI_BASE_URL: gemini.url,
            GEMINI_MODEL: 'gemini-test-flash',
          },
        );
        expect(answer(invocations[0], 201).text).toBe('Good morning');

        const byName = subsegments(daemon.documents, daemon.traceId);
        const [call] = byName.get('gemini.generateContent')!;
        const [invocation] = byName.get('## index.handler')!;
        expect(call.parent_id).toBe(invocation.id);
        // The outgoing request itself, a subsegment of the call, named by its host.
        const http = daemon.documents.filter((d) => d.parent_id === call.id);
        expect(http.map((d) => d.name)).toEqual([new URL(gemini.url).hostname]);
        expect(byName.has('audio.embedding')).toBe(true);
      } finally {
        await Promise.all([daemon.close(), gemini.close()]);
      }
    },
    120_000,
  );
});

describe('function images without a database', () => {
  it('answers GET / from the health image', async () => {
    const { invocations } = await runIn(
      images.get(defaultContextName)!.dir,
      defaultContextName,
      [apiEvent('GET', '/')],
      { DATABASE_URL: NO_DATABASE },
    );

    expect(invocations[0].statusCode).toBe(200);
    expect(JSON.parse(invocations[0].body!)).toMatchObject({
      message: 'Mira Backend API',
      status: 'running',
    });
  });

  it('serves the API reference from the health image alone: the document of every context and the pages', async () => {
    const { invocations } = await runIn(
      images.get(defaultContextName)!.dir,
      defaultContextName,
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
        images.get(defaultContextName)!.dir,
        [apiEvent('GET', '/health/detailed')],
        {
          ...images.get(defaultContextName)!.env,
          ...secretsManager.env,
          APP_SECRET_ARN: 'arn:app',
          DB_SECRET_ARN: 'arn:db',
          DB_PROXY_ENDPOINT: '127.0.0.1',
        },
      );

      // The Gemini key came from the app secret; the database URL (TLS, port 9) from the RDS secret.
      expect(secretsManager.calls.sort()).toEqual(['arn:app', 'arn:db']);
      const body = JSON.parse(invocations[0].body!);
      // A key is set (not yet proven by a call, so `configured`, never `healthy` on the key alone).
      expect(body.checks.external_apis.gemini.status).toBe('configured');
      expect(body.checks.database.status).toBe('unhealthy');
    } finally {
      await secretsManager.close();
    }
  });

  it('offers Google and GitHub sign-in from the auth image once the app secret holds their clients', async () => {
    const secretsManager = await startFakeSecretsManager({
      'arn:app': {
        GEMINI_API_KEY: 'REPLACE_ME',
        JWT_SECRET: 'jwt-secret',
        GOOGLE_CLIENT_ID: 'mira-web.apps.googleusercontent.com',
        GOOGLE_CLIENT_SECRET: 'google-secret',
        GITHUB_CLIENT_ID: 'REPLACE_ME',
        OAUTH_REDIRECT_URI: 'https://app.mira.example/callback',
      },
    });
    try {
      const { invocations } = await probeBundle(
        images.get('auth')!.dir,
        [apiEvent('GET', '/api/v1/auth/google/url'), apiEvent('GET', '/api/v1/auth/github/url')],
        {
          ...images.get('auth')!.env,
          ...secretsManager.env,
          APP_SECRET_ARN: 'arn:app',
          DATABASE_URL: NO_DATABASE,
        },
      );

      const google = new URL(JSON.parse(invocations[0].body!).url);
      expect(invocations[0].statusCode).toBe(200);
      expect(google.searchParams.get('client_id')).toBe('mira-web.apps.googleusercontent.com');
      expect(google.searchParams.get('redirect_uri')).toBe('https://app.mira.example/callback');
      // GitHub's client is still the placeholder: not configured.
      expect(invocations[1].statusCode).toBe(503);
      expect(JSON.parse(invocations[1].body!).error_code).toBe('OAUTH_NOT_CONFIGURED');
    } finally {
      await secretsManager.close();
    }
  });

  it.each(contexts.map((c) => c.name))(
    "routes a request through the %s image to Mira's error shape",
    async (name) => {
      const context = contexts.find((c) => c.name === name)!;

      const { invocations } = await runIn(images.get(name)!.dir, name, [wrongMethodRequest(context)], {
        DATABASE_URL: NO_DATABASE,
      });

      expect(invocations[0].error).toBeUndefined();
      expect(invocations[0].statusCode).toBe(405);
      expect(isMiraError(invocations[0].body)).toBe(true);
    },
  );

  it('refuses a realtime connection without a token, before any database work', async () => {
    const { invocations } = await runIn(
      images.get(REALTIME_FUNCTION)!.dir,
      REALTIME_FUNCTION,
      [webSocketEvent('$connect', 'c1', { queryStringParameters: { client_id: 'desk' } })],
      { DATABASE_URL: NO_DATABASE },
    );

    expect(invocations[0].statusCode).toBe(401);
    expect(isMiraError(invocations[0].body)).toBe(true);
  });

  it('refuses an unknown action in the migrate image', async () => {
    const { invocations } = await runIn(
      images.get(MIGRATE_FUNCTION)!.dir,
      MIGRATE_FUNCTION,
      [{ action: 'drop' }],
      {
        DATABASE_URL: NO_DATABASE,
      },
    );

    expect(invocations[0].error?.name).toBe('UnknownActionError');
  });
});
