/**
 * `npm run bench -- register`: register v2 (issue 14), on PGlite through the Middy pipeline, with a fake
 * Gemini on loopback that answers at once (so the figures EXCLUDE the model):
 *
 * - accept latency: `POST P/interactions/register` with `Prefer: respond-async` until its 202 (multipart
 *   parsing, decode, VAD, quality score, stream quality, audio to storage, the copy's row, the job);
 *   excluding upload time (the body is already in memory).
 * - end to end per utterance: from the request until the `interaction` event leaves for the sockets (the
 *   in-process worker: settle window, decision, decode and speaker model, the loopback model call, the
 *   storing transaction); printed as measured and without the settle window (ARBITRATION_SETTLE_MS).
 *
 * At 1 device (one utterance at a time) and at 20 concurrent devices (20 different utterances at once,
 * one per device, capture times far apart so they are no rivals).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Before any module reads the configuration (the harness's imports do).
process.env.LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.LEGACY_NETWORK_AUTH = 'true';
const SETTLE_MS = 400;
process.env.ARBITRATION_SETTLE_MS = String(SETTLE_MS);
process.env.MIRA_STORAGE_DIR = join((await import('node:os')).tmpdir(), `mira-bench-audio-${process.pid}`);
const { reply, startFakeGemini } = await import('../test/helpers/fake-gemini');
const fake = await startFakeGemini();
fake.respondWith(() =>
  reply.json({ text: 'Benchmark utterance', language: 'en', entities: [], topics: ['bench'], sentiment: 0 }),
);
process.env.GEMINI_API_KEY = 'bench-key';
process.env.GEMINI_BASE_URL = fake.url;
// The request helpers load every context, which reads the configuration: only now that Gemini is set.
const { multipart } = await import('../test/helpers/http');

const { startBenchApi } = await import('./harness');
const { setLocalRealtimeTransport } = await import('../shared/realtime/publisher');
const { addRealtimeConnection } = await import('../shared/db/repositories/realtime');
const { addMember } = await import('../shared/db/repositories/members');

const { db, send, call, networkId, close } = await startBenchApi();
const DEVICES = 20;
const devices = Array.from({ length: DEVICES }, (_, i) => `device-${i + 1}`);
for (const device of devices) await call('POST', `/api/v1/${networkId}/service/client/register/${device}`);
// One socket of a member: the `interaction` event marks the end of an utterance's processing.
const user = await db
  .insertInto('users')
  .values({ email: 'bench@mira.test' })
  .returning('id')
  .executeTakeFirstOrThrow();
await addMember(db, networkId, user.id, 'owner');
await addRealtimeConnection(db, { connectionId: 'bench', networkId, clientId: 'desk', userId: user.id });
const stored = new Map<string, () => void>();
setLocalRealtimeTransport({
  send: (_id, message) => {
    const event = JSON.parse(message) as { event: string; data: { metadata?: { utterance_id?: string } } };
    const id = event.event === 'interaction' ? event.data.metadata?.utterance_id : undefined;
    if (id) stored.get(id)?.();
    return Promise.resolve('sent');
  },
});

const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures', 'audio');
const files = ['a', 'b', 'c'].flatMap((v) => [1, 2, 3].map((s) => `voice-${v}-${s}.mp3`));
const audio = files.map((f) => readFileSync(join(fixtures, f)));
let clock = Date.UTC(2026, 0, 1, 9);
let n = 0;

/** One utterance of one device: [accept ms, end-to-end ms]. */
async function utterance(device: string): Promise<[number, number]> {
  const i = n++;
  clock += 20_000;
  const form = multipart({
    audio: { filename: files[i % files.length], content: audio[i % audio.length], mimetype: 'audio/mpeg' },
    client_id: device,
    captured_at: new Date(clock).toISOString(),
  });
  const start = performance.now();
  const result = await send(
    'POST',
    `/api/v1/${networkId}/interactions/register`,
    { 'content-type': form.contentType, prefer: 'respond-async' },
    form.buffer,
  );
  const accepted = performance.now() - start;
  if (result.statusCode !== 202) throw new Error(`register answered ${result.statusCode}: ${result.body}`);
  const { utterance_id: id } = JSON.parse(result.body!) as { utterance_id: string };
  await new Promise<void>((resolve) => {
    stored.set(id, resolve);
    // Stored before the listener was set (not with a settle window, but to be safe): look it up.
    void db
      .selectFrom('utterances')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row?.status === 'stored' && resolve());
  });
  stored.delete(id);
  return [accepted, performance.now() - start];
}

const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
};
const line = (label: string, values: number[], minus = 0) =>
  `${label.padEnd(46)} p50 ${(pct(values, 0.5) - minus).toFixed(1)} ms  p95 ${(pct(values, 0.95) - minus).toFixed(1)} ms`;

async function scenario(concurrent: number, rounds: number) {
  const accepts: number[] = [];
  const ends: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const results = await Promise.all(devices.slice(0, concurrent).map((d) => utterance(d)));
    for (const [a, e] of results) {
      accepts.push(a);
      ends.push(e);
    }
  }
  const label = `${concurrent} device${concurrent > 1 ? 's' : ''} (${accepts.length} utterances)`;
  console.log(line(`accept (202), ${label}`, accepts));
  console.log(line(`end to end, ${label}`, ends));
  console.log(line(`end to end without the ${SETTLE_MS} ms settle window`, ends, SETTLE_MS));
}

// Warm-up: models loaded, the worker running, the JIT warm.
for (let i = 0; i < 3; i++) await utterance(devices[0]);
await scenario(1, 30);
await scenario(DEVICES, 3);
// Only transcriptions carry audio; the rest are other features' calls (a conversation that ends is
// summarised, stored texts get embeddings), which an utterance-count comparison must not include.
const carriesAudio = (body: unknown) => JSON.stringify(body).includes('"mimeType":"audio/');
const transcriptions = fake.generations().filter((r) => carriesAudio(r.body)).length;
const others = fake.requests.length - transcriptions;
console.log(
  `model calls: ${transcriptions} transcriptions (one per utterance: ${n}), ${others} others ` +
    `(${fake.generations().length - transcriptions} generations such as conversation summaries, ` +
    `${fake.requests.length - fake.generations().length} embeddings)`,
);
setLocalRealtimeTransport(undefined);
const { localUtteranceWorker } = await import('../functions/interactions/worker');
await localUtteranceWorker().stop();
await fake.close();
await close();
