/**
 * `npm run bench` (or `npm run bench -- pipeline`): server-side time of `POST P/interactions/register` per
 * utterance, through the whole Middy pipeline on PGlite, EXCLUDING the model call:
 *
 * - "client transcript": the device sends its own transcript, so no model is called at all. This is the
 *   pipeline's own cost: multipart parsing, decode, VAD, quality, speaker embedding, stream quality,
 *   arbitration claim, speaker match, conversation and the storing transaction.
 * - "fake Gemini": the same with the real SDK against a fake Gemini on loopback that answers at once; the
 *   difference is the SDK's request building and parsing plus one loopback round trip.
 * - "analyzeAudio only": the audio package's share of it.
 *
 * The utterances are the nine 2-3 s fixture voices (MP3), taken in turn, so speakers match and persons,
 * conversations and interactions accumulate as they would in a household.
 */
import './quiet-env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { reply, startFakeGemini } = await import('../test/helpers/fake-gemini');
const { multipart } = await import('../test/helpers/http');
const fake = await startFakeGemini();
fake.respondWith(() =>
  reply.json({ text: 'Benchmark utterance', language: 'en', entities: [], topics: ['bench'], sentiment: 0 }),
);
process.env.GEMINI_API_KEY = 'bench-key';
process.env.GEMINI_BASE_URL = fake.url;
process.env.GEMINI_RETRY_DELAY_MS = '10';
// Register v2: the synchronous register waits for the settle window; this bench measures the pipeline.
process.env.ARBITRATION_SETTLE_MS = '0';

// The configuration is read once and cached; the helpers imported above may have read it before the
// fake's URL was known.
(await import('../shared/config')).resetConfig();
const { startBenchApi } = await import('./harness');
const { analyzeAudio } = await import('../shared/audio/index');

const { db, send, call, networkId, close } = await startBenchApi();
const network = { id: networkId };
await call('POST', `/api/v1/${network.id}/service/client/register/kitchen`);

const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures', 'audio');
const files = ['a', 'b', 'c'].flatMap((v) => [1, 2, 3].map((s) => `voice-${v}-${s}.mp3`));
const audio = files.map((f) => readFileSync(join(fixtures, f)));
let clock = Date.UTC(2026, 0, 1, 9);

async function register(i: number, transcript: boolean) {
  clock += 20_000; // 20 s apart: one conversation, never rivals for the arbitration
  const form = multipart({
    audio: { filename: files[i % files.length], content: audio[i % audio.length], mimetype: 'audio/mpeg' },
    client_id: 'kitchen',
    captured_at: new Date(clock).toISOString(),
    ...(transcript ? { transcript: 'Benchmark utterance' } : {}),
  });
  const result = await send(
    'POST',
    `/api/v1/${network.id}/interactions/register`,
    { 'content-type': form.contentType },
    form.buffer,
  );
  if (result.statusCode !== 201) throw new Error(`register answered ${result.statusCode}: ${result.body}`);
}

/**
 * The three cases interleaved, one utterance each per round, so a busy neighbour on a shared machine slows
 * all of them alike instead of skewing one.
 */
async function measure(cases: [string, (i: number) => Promise<unknown>][], iterations = 45) {
  for (let i = 0; i < 5; i++) for (const [, run] of cases) await run(i);
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < iterations; i++) {
    for (const [c, [, run]] of cases.entries()) {
      const start = performance.now();
      await run(i);
      times[c].push(performance.now() - start);
    }
  }
  for (const [c, [label]] of cases.entries()) {
    const sorted = times[c].sort((a, b) => a - b);
    const p = (q: number) => sorted[Math.floor(q * (sorted.length - 1))].toFixed(1);
    console.log(
      `${label.padEnd(44)} p50 ${p(0.5)} ms  p95 ${p(0.95)} ms  (${iterations} utterances, PGlite)`,
    );
  }
}

const seconds = await Promise.all(audio.map(async (a) => (await analyzeAudio(a)).audio.durationS));
console.log(
  `utterances: ${files.length} fixture voices, ${Math.min(...seconds).toFixed(1)}-${Math.max(...seconds).toFixed(1)} s each`,
);
await measure([
  ['register, client transcript (no model call)', (i) => register(i, true)],
  ['register, fake Gemini on loopback', (i) => register(i, false)],
  ['  of which analyzeAudio', (i) => analyzeAudio(audio[i % audio.length])],
]);
const counts = await db
  .selectFrom('persons')
  .select((eb) => eb.fn.countAll<number>().as('n'))
  .executeTakeFirstOrThrow();
console.log(`persons created: ${counts.n} (expected 3: the voices were matched)`);
await fake.close();
await close();
