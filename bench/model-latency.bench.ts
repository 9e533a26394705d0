/**
 * `npm run bench -- model-latency`: what the pipeline adds around the model call, the part of a person's
 * wait that is Mira's. The real SDK calls a fake Gemini on loopback that answers after a scripted latency
 * (BENCH_MODEL_LATENCY_MS, 300 ms by default, about a short Flash answer); each figure is the time to the
 * answer and, beside it, that time minus the scripted latency: the SDK's request building, parsing,
 * validation and (for register) the whole pipeline. A regression in what surrounds the call shows here
 * whatever the model's own speed. The calls are non-streaming, so the first token is the answer.
 * Also prints the thinking level each call sends (shared/ai/thinking.ts).
 */
import './quiet-env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, report } from './load';

const LATENCY = Number(process.env.BENCH_MODEL_LATENCY_MS ?? 300);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const { reply, startFakeGemini } = await import('../test/helpers/fake-gemini');
const fake = await startFakeGemini();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const enrichment = { text: 'Good morning', language: 'en', entities: [], topics: ['greeting'], sentiment: 0 };
fake.respondWith(async (request) => {
  await sleep(LATENCY);
  const json = JSON.stringify(request.body);
  if (json.includes('responseJsonSchema') && json.includes('audio/wav')) return reply.json(enrichment);
  return reply.text('It is nine in the morning.');
});
process.env.GEMINI_API_KEY = 'bench-key';
process.env.GEMINI_BASE_URL = fake.url;
process.env.GEMINI_MODEL = 'gemini-3.8-flash';

const { transcribeAndEnrich, runCommand } = await import('../shared/ai');
const { analyzeAudio } = await import('../shared/audio/index');
const { startBenchApi } = await import('./harness');
const { multipart } = await import('../test/helpers/http');

const voice = readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'audio', 'voice-a-1.mp3'));
const speech = (await analyzeAudio(voice)).samples;

async function measure(label: string, run: () => Promise<unknown>) {
  await run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  const p50 = median(times);
  const level = (fake.requests.at(-1)?.body as { generationConfig?: { thinkingConfig?: unknown } })
    ?.generationConfig?.thinkingConfig;
  report(
    `${label.padEnd(38)} answer p50 ${p50.toFixed(1).padStart(7)} ms, around the call ${(p50 - LATENCY).toFixed(1).padStart(6)} ms` +
      `  thinking ${JSON.stringify(level ?? 'default')}`,
  );
}

console.log(`fake Gemini answers after ${LATENCY} ms; median of ${RUNS}`);
await measure('transcribeAndEnrich (speech, 16 kHz)', () => transcribeAndEnrich(speech));
await measure('runCommand (no tools)', () => runCommand({ utterance: 'What time is it?', tools: [] }));

const api = await startBenchApi();
await api.call('POST', `/api/v1/${api.networkId}/service/client/register/kitchen`);
let clock = Date.UTC(2026, 0, 1, 9);
await measure('POST P/interactions/register (pipeline)', async () => {
  const form = multipart({
    audio: { filename: 'a.mp3', content: voice, mimetype: 'audio/mpeg' },
    client_id: 'kitchen',
    captured_at: new Date((clock += 20_000)).toISOString(),
  });
  const answer = await api.send(
    'POST',
    `/api/v1/${api.networkId}/interactions/register`,
    { 'content-type': form.contentType },
    form.buffer,
  );
  if (answer.statusCode !== 201) throw new Error(`register answered ${answer.statusCode}: ${answer.body}`);
});
await api.close();
await fake.close();
