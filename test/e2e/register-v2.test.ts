import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localUtteranceWorker } from '../../functions/interactions/worker';
import { handler as workerHandler } from '../../functions/worker/handler';
import { analyzeAudio, decodeAudio } from '../../shared/audio';
import { resetConfig } from '../../shared/config';
import { listDeadJobs } from '../../shared/db/repositories/queue-jobs';
import { addMember } from '../../shared/db/repositories/members';
import { addRealtimeConnection } from '../../shared/db/repositories/realtime';
import { setLocalRealtimeTransport } from '../../shared/realtime/publisher';
import { audioStorage } from '../../shared/storage';
import { encodeWav, fixture, whiteNoise } from '../helpers/audio';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { reply } from '../helpers/fake-gemini';
import { createTestApi, multipart } from '../helpers/http';
import { useFakeGemini } from '../helpers/use-fake-gemini';

/**
 * Register v2 (issue 14): the settle window where the best copy wins, one model call per utterance, the
 * queue and its worker (crash, duplicate delivery, retries), the nearest device answering, offline batches.
 * Bounded by counts and by polls, never by the wall clock.
 */
const database = useTestDatabase();
const api = createTestApi();
const gemini = useFakeGemini();
const { fake } = gemini;
const savedEnv = { ...process.env };

const enrichment = (text: string) => ({
  text,
  language: 'en-GB',
  entities: [],
  topics: ['home'],
  sentiment: 0,
});
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 9, 0, 0) + seconds * 1000).toISOString();

async function until(done: () => Promise<boolean> | boolean, polls = 800) {
  for (let i = 0; i < polls; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met');
}

/** What the realtime sockets of the network were sent. */
const events: any[] = [];
let clean: Buffer;
let noisy: Buffer;
beforeAll(async () => {
  const { samples } = await decodeAudio(fixture('voice-a-1.mp3'));
  const noise = whiteNoise(samples.length, 0.05, 7);
  noisy = encodeWav([samples.map((v, i) => v + noise[i])], { rate: 16_000 });
  clean = encodeWav([samples], { rate: 16_000 });
  setLocalRealtimeTransport({
    send: (_connectionId, message) => {
      events.push(JSON.parse(message));
      return Promise.resolve('sent');
    },
  });
});
afterAll(() => setLocalRealtimeTransport(undefined));
afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  resetConfig();
});

let networkId: string;
let P: string;
beforeEach(async () => {
  fake.reset();
  gemini.configure();
  events.length = 0;
  networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
  P = `/api/v1/${networkId}`;
  for (const client of ['kitchen', 'phone', 'hall', 'office', 'desk'])
    await api.post(`${P}/service/client/register/${client}`);
  // A socket of a member of the network: it receives the network's events.
  const userId = (
    await database.db
      .insertInto('users')
      .values({ email: `member-${networkId}@register.test` })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  await addMember(database.db, networkId, userId, 'member');
  await addRealtimeConnection(database.db, {
    connectionId: `c-${networkId}`,
    networkId,
    clientId: 'desk',
    userId,
  });
});

const send = (content: Buffer, client: string, capturedAt: string, headers: Record<string, string> = {}) =>
  api.post(
    `${P}/interactions/register`,
    multipart({ audio: { filename: 'u.wav', content }, client_id: client, captured_at: capturedAt }),
    { headers },
  );
const rows = () =>
  database.db
    .selectFrom('interactions')
    .selectAll()
    .where('network_id', '=', networkId)
    .orderBy('created_at')
    .execute();
const status = async (id: string) => (await api.get(`${P}/utterances/${id}`)).body;
const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('register v2: the settle window', () => {
  // The network setting: a window long enough that the later copy's accept (decode, VAD) finishes inside
  // it even while the whole suite shares the machine's two cores (the default 400 ms covers it otherwise).
  const settle = (extra: Record<string, unknown> = {}) =>
    database.db
      .updateTable('networks')
      .set({ settings: JSON.stringify({ arbitration_settle_ms: 1_500, ...extra }) })
      .where('id', '=', networkId)
      .execute();
  beforeEach(() => settle());

  it('stores the better copy when a worse one arrives 30 ms before it, 20 times out of 20', async () => {
    fake.respondWith(() => reply.json(enrichment('Dinner is ready')));
    const winners: string[] = [];
    for (let n = 0; n < 20; n++) {
      const worse = send(noisy, 'phone', at(n * 10));
      await later(30);
      const better = send(clean, 'kitchen', at(n * 10));
      const [first, second] = await Promise.all([worse, better]);
      expect(second.status).toBe(201);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ best_client_id: 'kitchen', current_client_id: 'phone' });
      winners.push(second.body.client_id);
    }

    expect(winners).toEqual(Array(20).fill('kitchen'));
    expect((await rows()).map((r) => r.client_id)).toEqual(Array(20).fill('kitchen'));
    // One transcription per utterance; none for the worse copies.
    expect(fake.requests).toHaveLength(20);
    // Twenty utterances of a settle window and a pipeline each, on a machine shared by the whole suite.
  }, 300_000);

  it('makes exactly one transcription call for 2 to 5 concurrent copies of one utterance', async () => {
    fake.respondWith(() => reply.json(enrichment('Lights on')));
    const clients = ['kitchen', 'phone', 'hall', 'office', 'desk'];
    for (let n = 2; n <= 5; n++) {
      const before = fake.requests.length;
      const answers = await Promise.all(clients.slice(0, n).map((c) => send(clean, c, at(n * 100))));
      expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
      expect(fake.requests.length - before).toBe(1);
      const stored = answers.find((r) => r.status === 201)!.body;
      // Every device that heard it is on record, the winner first.
      expect(stored.metadata.heard_by).toHaveLength(n);
      expect(stored.metadata.heard_by[0].client_id).toBe(stored.client_id);
    }
    expect(await rows()).toHaveLength(4);
  }, 180_000);

  it('sends the command reply to the device whose copy won (target_client_id)', async () => {
    await settle({ wake_word_speakers: 'anyone' });
    fake.enqueue(reply.json(enrichment('Hey Mira, what time is it?')), reply.text('It is nine.'));

    const [worse, better] = await Promise.all([
      send(noisy, 'phone', at(0)),
      later(30).then(() => send(clean, 'kitchen', at(0))),
    ]);

    expect(better.status).toBe(200);
    expect(better.body).toEqual({ message: 'It is nine.' });
    expect(worse.status).toBe(200);
    expect(worse.body.best_client_id).toBe('kitchen');
    const [interaction] = await rows();
    const response = events.find((e) => e.event === 'command_response');
    expect(response.data).toEqual({
      interaction_id: interaction.id,
      message: 'It is nine.',
      target_client_id: 'kitchen',
    });
    expect((interaction.metadata as any).heard_by.map((c: any) => c.client_id)).toEqual(['kitchen', 'phone']);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('register v2: a winner that fails', () => {
  // Long enough for both accepts (and the test's change to the winner's audio) inside the window.
  beforeEach(async () => {
    process.env.QUEUE_MAX_ATTEMPTS = '1';
    resetConfig();
    await database.db
      .updateTable('networks')
      .set({ settings: JSON.stringify({ arbitration_settle_ms: 5_000 }) })
      .where('id', '=', networkId)
      .execute();
  });
  const async = { prefer: 'respond-async' };

  it("processes the next-best copy when the winner's own audio is lost, with one model call", async () => {
    fake.respondWith(() => reply.json(enrichment('Lights off please')));
    const [better, worse] = await Promise.all([
      send(clean, 'kitchen', at(0), async),
      send(noisy, 'phone', at(0), async),
    ]);
    expect([better.status, worse.status]).toEqual([202, 202]);
    // The winner's audio is gone from storage (an expired object, a failed disk) before it is processed.
    await audioStorage().delete(`${networkId}/${better.body.utterance_id}`);

    await until(async () => (await status(worse.body.utterance_id)).status === 'stored');

    expect(await status(better.body.utterance_id)).toMatchObject({ status: 'failed' });
    expect((await rows()).map((r) => [r.client_id, r.text])).toEqual([['phone', 'Lights off please']]);
    expect(fake.requests).toHaveLength(1);
    // Stored: the revived copy's audio is not kept (deleted right after the commit).
    await until(async () => !(await audioStorage().get(`${networkId}/${worse.body.utterance_id}`)));
  });

  it('does not revive a copy when the model failed: the same words would fail the same way', async () => {
    fake.respondWith(() => reply.error(500));
    const [better, worse] = await Promise.all([
      send(clean, 'kitchen', at(0), async),
      send(noisy, 'phone', at(0), async),
    ]);

    await until(async () => (await status(better.body.utterance_id)).status === 'failed');

    expect(await status(worse.body.utterance_id)).toMatchObject({ status: 'dropped' });
    // One delivery, with the SDK's 3 attempts; no call for the dropped copy.
    expect(fake.requests).toHaveLength(3);
    expect(await rows()).toHaveLength(0);
  });
});

describe('register v2: the queue and its worker', () => {
  it('processes an utterance after a crash of the worker between accept and store', async () => {
    // Long enough for one delivery's whole run on a busy machine (a shorter one would deliver it again).
    process.env.QUEUE_VISIBILITY_TIMEOUT_MS = '3000';
    resetConfig();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.respondWith(async () => {
      // The first delivery's model call never returns before the crash.
      if (fake.requests.length === 1) await held;
      return reply.json(enrichment('Back after the crash'));
    });

    const accepted = await send(clean, 'kitchen', at(0), { prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    await until(() => fake.requests.length === 1);
    await localUtteranceWorker().crash();
    expect((await status(accepted.body.utterance_id)).status).toBe('processing');
    expect(await rows()).toHaveLength(0);

    localUtteranceWorker().start();
    await until(async () => (await status(accepted.body.utterance_id)).status === 'stored');
    release();

    expect((await rows()).map((r) => r.text)).toEqual(['Back after the crash']);
    expect(fake.requests).toHaveLength(2);
  });

  it("reuses the accept's speech segments in the worker, and runs the VAD itself for a copy without them", async () => {
    fake.respondWith(() => reply.json(enrichment('Segments once')));
    // The worker stopped, so the rows can be looked at (and the second one aged) before it runs.
    await localUtteranceWorker().crash();
    const first = await send(clean, 'kitchen', at(0), { prefer: 'respond-async' });
    const second = await send(clean, 'kitchen', at(60), { prefer: 'respond-async' });
    const row = (id: string) =>
      database.db.selectFrom('utterances').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const stored = (await row(first.body.utterance_id)).vad as {
      segments: { startS: number; endS: number }[];
      speechRatio: number;
    };
    const measured = (await analyzeAudio(clean, { embedding: false })).vad;
    expect(stored).toEqual({ ...measured, sha256: expect.any(String) });
    expect(stored.segments.length).toBeGreaterThan(0);
    // What the worker reads is what it uses: a marked ratio shows through; a copy from before migration
    // 0032 (no segments), or whose stored bytes are not the ones measured, gets the VAD's own.
    await database.db
      .updateTable('utterances')
      .set({ vad: JSON.stringify({ ...stored, speechRatio: 0.123 }) })
      .where('id', '=', first.body.utterance_id)
      .execute();
    await database.db
      .updateTable('utterances')
      .set({ vad: null })
      .where('id', '=', second.body.utterance_id)
      .execute();
    const third = await send(clean, 'kitchen', at(120), { prefer: 'respond-async' });
    await database.db
      .updateTable('utterances')
      .set({ vad: JSON.stringify({ ...stored, speechRatio: 0.456, sha256: 'of other bytes' }) })
      .where('id', '=', third.body.utterance_id)
      .execute();

    localUtteranceWorker().start();
    await until(async () => (await rows()).length === 3);

    const ratios = (await rows()).map((r) => (r.metadata as any).quality.speech_ratio);
    const own = Math.round(measured.speechRatio * 1000) / 1000;
    // In any order: the worker may take them as it likes.
    expect(ratios.sort()).toEqual([0.123, own, own].sort());
  });

  it('does not call the model again when a delivery fails after the model answered', async () => {
    process.env.QUEUE_RETRY_BASE_MS = '50';
    resetConfig();
    fake.respondWith(() => reply.json(enrichment('Stored on the second try')));
    // The storing transaction fails (as on a database fault) until the constraint goes.
    await sql`ALTER TABLE interactions ADD CONSTRAINT fails_once CHECK (text <> 'Stored on the second try')`.execute(
      database.db,
    );
    try {
      const accepted = await send(clean, 'kitchen', at(0), { prefer: 'respond-async' });
      const id = accepted.body.utterance_id;
      const job = () =>
        database.db
          .selectFrom('queue_jobs')
          .select(['attempts', 'last_error'])
          .where('body', '@>', JSON.stringify({ utteranceId: id }));
      // Until the first delivery has failed to store (not merely been taken: dropping the constraint while
      // it is still on its way would let it succeed, and there would be no retry to watch).
      await until(async () => !!(await job().executeTakeFirst())?.last_error && fake.requests.length === 1);
    } finally {
      await sql`ALTER TABLE interactions DROP CONSTRAINT fails_once`.execute(database.db);
    }

    await until(async () => (await rows()).length === 1);
    const [copy] = await database.db.selectFrom('utterances').selectAll().execute();
    expect(copy.attempts).toBeGreaterThanOrEqual(2);
    expect((await rows()).map((r) => r.text)).toEqual(['Stored on the second try']);
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a failing transcription, then marks the utterance failed, tells the device and stores nothing', async () => {
    fake.respondWith(() => reply.error(500));

    const res = await send(clean, 'kitchen', at(0));

    expectError(res, 502, 'TRANSCRIPTION_FAILED');
    // 3 deliveries of the job, each with the SDK's 3 attempts.
    expect(fake.requests).toHaveLength(9);
    expect(await rows()).toHaveLength(0);
    expect(await database.db.selectFrom('persons').selectAll().execute()).toHaveLength(0);
    const [copy] = await database.db.selectFrom('utterances').selectAll().execute();
    expect(copy).toMatchObject({ status: 'failed', error_code: 'TRANSCRIPTION_FAILED', attempts: 3 });
    expect(events.filter((e) => e.event === 'error')).toEqual([
      {
        event: 'error',
        data: {
          utterance_id: copy.id,
          client_id: 'kitchen',
          error_code: 'TRANSCRIPTION_FAILED',
          detail: expect.any(String),
        },
      },
    ]);
    expect(await status(copy.id)).toMatchObject({ status: 'failed', error_code: 'TRANSCRIPTION_FAILED' });
    // Given up cleanly by the handler: nothing is left in the dead-letter queue.
    expect(await listDeadJobs(database.db, 'utterances')).toEqual([]);
  });

  it('stores one interaction when SQS delivers the same message twice, even at the same time', async () => {
    // A loopback SQS: records SendMessage calls.
    const sent: any[] = [];
    const sqs: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        sent.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ MessageId: `m-${sent.length}` }));
      });
    });
    await new Promise<void>((resolve) => sqs.listen(0, '127.0.0.1', resolve));
    try {
      Object.assign(process.env, {
        UTTERANCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/000000000000/utterances',
        AWS_SQS_ENDPOINT_URL: `http://127.0.0.1:${(sqs.address() as AddressInfo).port}/`,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        ARBITRATION_SETTLE_MS: '0',
      });
      resetConfig();
      fake.respondWith(() => reply.json(enrichment('Delivered twice')));

      const accepted = await send(clean, 'kitchen', at(0), { prefer: 'respond-async' });
      expect(accepted.status).toBe(202);
      expect(sent).toHaveLength(1);
      expect(sent[0].QueueUrl).toBe(process.env.UTTERANCE_QUEUE_URL);
      const record = (id: string, body = sent[0].MessageBody as string): SQSRecord =>
        ({ messageId: id, body, attributes: { ApproximateReceiveCount: '1' } }) as unknown as SQSRecord;
      const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

      const results = await Promise.all([
        workerHandler(event(record('a'))),
        workerHandler(event(record('b'))),
        workerHandler(event(record('c'), record('d'))),
      ]);
      // The deliveries that found it leased sent it again (to wait); deliver those too.
      for (const again of sent.slice(1)) await workerHandler(event(record('e', again.MessageBody)));

      for (const result of results) expect(result.batchItemFailures).toEqual([]);
      expect((await rows()).map((r) => r.text)).toEqual(['Delivered twice']);
      expect(fake.requests).toHaveLength(1);
      expect((await status(accepted.body.utterance_id)).status).toBe('stored');
    } finally {
      await new Promise<void>((resolve) => sqs.close(() => resolve()));
    }
  });

  it('reports a failing message as a batch item failure and keeps the rest of the batch', async () => {
    const result = await workerHandler({
      Records: [
        { messageId: 'bad', body: 'not json', attributes: { ApproximateReceiveCount: '1' } },
        {
          messageId: 'gone',
          body: JSON.stringify({ kind: 'utterance', utteranceId: '00000000-0000-4000-8000-000000000000' }),
          attributes: { ApproximateReceiveCount: '1' },
        },
      ] as unknown as SQSRecord[],
    });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
  });
});

describe('register v2: offline hand-in and status', () => {
  it('stores an offline batch in capture order, deduplicated against a copy another device sent', async () => {
    let n = 0;
    fake.respondWith(() => reply.json(enrichment(`Utterance ${++n}`)));
    const first = await send(clean, 'kitchen', at(0));
    expect(first.status).toBe(201);

    const res = await api.post(
      `${P}/interactions/batch`,
      multipart({
        client_id: 'phone',
        audio_0: { filename: 'c.mp3', content: fixture('voice-b-1.mp3') },
        captured_at_0: at(60),
        audio_1: { filename: 'a.wav', content: clean },
        captured_at_1: at(0),
        audio_2: { filename: 'b.mp3', content: fixture('voice-a-2.mp3') },
        captured_at_2: at(30),
        transcript_2: 'Said while offline',
      }),
    );

    expect(res.status).toBe(202);
    expect(res.body.utterances.map((u: any) => u.captured_at)).toEqual([at(0), at(30), at(60)]);
    const ids: string[] = res.body.utterances.map((u: any) => u.utterance_id);
    await until(async () => {
      const all = await Promise.all(ids.map(status));
      return all.every((s) => s.status === 'stored' || s.status === 'dropped');
    });
    const [duplicate, second, third] = await Promise.all(ids.map(status));
    expect(duplicate).toMatchObject({
      status: 'dropped',
      best_client_id: 'kitchen',
      interaction_id: first.body.id,
    });
    expect(second.status).toBe('stored');
    expect(third.status).toBe('stored');
    const stored = await rows();
    expect(stored.map((r) => [r.id, r.text, r.timestamp.toISOString()])).toEqual([
      [first.body.id, 'Utterance 1', at(0)],
      [second.interaction_id, 'Said while offline', at(30)],
      [third.interaction_id, 'Utterance 2', at(60)],
    ]);
    // The kitchen's interaction knows the phone heard it too.
    expect((stored[0].metadata as any).heard_by.map((c: any) => c.client_id)).toEqual(['kitchen', 'phone']);
    // Two transcriptions: the kitchen's copy and the batch part without a transcript.
    expect(fake.requests).toHaveLength(2);
  });

  it('refuses a batch part without its capture time, and a batch with a bad part, accepting nothing', async () => {
    const missing = await api.post(
      `${P}/interactions/batch`,
      multipart({ client_id: 'phone', audio_0: { filename: 'a.wav', content: clean } }),
    );
    expectError(missing, 422, 'VALIDATION_ERROR');
    const bad = await api.post(
      `${P}/interactions/batch`,
      multipart({
        client_id: 'phone',
        audio_0: { filename: 'a.wav', content: clean },
        captured_at_0: at(0),
        audio_1: { filename: 's.flac', content: fixture('silence.flac') },
        captured_at_1: at(5),
      }),
    );
    expectError(bad, 422, 'NO_SPEECH');
    expect(bad.body.detail).toMatch(/Part 1/);
    expect(await database.db.selectFrom('utterances').selectAll().execute()).toHaveLength(0);
  });

  it('answers 404 UTTERANCE_NOT_FOUND for an unknown utterance', async () => {
    expectError(
      await api.get(`${P}/utterances/00000000-0000-4000-8000-000000000000`),
      404,
      'UTTERANCE_NOT_FOUND',
    );
  });
});
