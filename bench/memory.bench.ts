/**
 * `npm run bench -- memory`: `GET P/search` at 100k interactions (issue 18's target: p95 <= 50 ms on
 * PostgreSQL), and the voice route's time to its first token without the model (a fake Gemini that answers
 * at once). On PostgreSQL when DATABASE_URL is set (a database of its own), else PGlite with its vector
 * extension. The search's query embedding comes from the fake over loopback, as in production it comes
 * from Gemini; the stored embeddings are random unit vectors (BENCH_EMBEDDED of the interactions, all by
 * default on PostgreSQL; PGlite builds its HNSW index row by row, so fewer there by default).
 */
import './quiet-env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBenchDb } from './bench-db';
import { seedHistory } from './history';
import { percentile, median, report } from './load';

const INTERACTIONS = Number(process.env.BENCH_INTERACTIONS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const { reply, startFakeGemini } = await import('../test/helpers/fake-gemini');
const fake = await startFakeGemini();
process.env.GEMINI_API_KEY = 'bench-key';
process.env.GEMINI_BASE_URL = fake.url;
process.env.GEMINI_MODEL = 'gemini-3.8-flash';
// The configuration may have been read while the imports above loaded: read it again with the fake's URL.
(await import('../shared/config')).resetConfig();
(await import('../shared/ai')).resetGemini();

const { search, EXACT_WINDOW } = await import('../functions/memories/search');
const { startVoiceCommand } = await import('../functions/voice/service');
const { vectorPath } = await import('../shared/db/vector');
const { vectorLiteral, vectorToBytes, EMBEDDING_DIMENSIONS, embeddingModel, embedTexts } =
  await import('../shared/ai');
const { upsertClient } = await import('../shared/db/repositories/networks');

const bench = await openBenchDb();
const { db } = bench;
let t = performance.now();
const history = await seedHistory(db, 100, INTERACTIONS);
const path = await vectorPath(db);
const EMBEDDED = Number(process.env.BENCH_EMBEDDED ?? (path === 'pgvector' ? 5_000 : INTERACTIONS));
report(
  `seeded ${history.interactions} interactions on ${bench.driver} (${path} similarity) in ` +
    `${((performance.now() - t) / 1000).toFixed(1)} s`,
);

// Random unit vectors, inserted in batches: the texts' real embeddings would cost a model call each.
t = performance.now();
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const unit = () => {
  const v = Float32Array.from({ length: EMBEDDING_DIMENSIONS }, random);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const ids = await db
  .selectFrom('interactions')
  .select('id')
  .where('network_id', '=', history.networkId)
  .orderBy('timestamp', 'desc')
  .limit(EMBEDDED)
  .execute();
for (let i = 0; i < ids.length; i += 500) {
  const rows = ids.slice(i, i + 500).map(({ id }) => {
    const v = unit();
    return {
      network_id: history.networkId,
      interaction_id: id,
      content_hash: id,
      model: embeddingModel(),
      embedding: vectorToBytes(v),
      ...(path === 'pgvector' ? { embedding_vector: vectorLiteral(v) } : {}),
    };
  });
  await db.insertInto('embeddings').values(rows).execute();
}
report(`embedded ${ids.length} interactions in ${((performance.now() - t) / 1000).toFixed(1)} s`);

async function measure(label: string, run: () => Promise<unknown>) {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  report(
    `${label}: p50 ${median(times).toFixed(1)} ms, p95 ${percentile(times, 0.95).toFixed(1)} ms (${RUNS} runs)`,
  );
}

const queries = ['household history', 'utterance 4242', 'when is my sister coming', 'Saturday plans'];
let q = 0;
await measure(
  `search at ${history.interactions} interactions, ${ids.length} embedded (${path}` +
    `${path === 'exact' ? `, newest ${EXACT_WINDOW} compared` : ''}), hybrid`,
  () => search(db, history.networkId, queries[q++ % queries.length], 20),
);
// Its parts: the full-text candidates, and (exact path) the read of the newest embeddings.
const { fullTextHits, embeddingsOfNetwork } = await import('../shared/db/repositories/embeddings');
await measure('  full-text candidates alone', () =>
  fullTextHits(db, history.networkId, queries[q++ % queries.length], 50),
);
await measure('  the query embedding alone (fake Gemini on loopback)', () =>
  embedTexts([queries[q++ % queries.length]], 'RETRIEVAL_QUERY'),
);
if (path === 'exact')
  await measure(`  the newest ${EXACT_WINDOW} embeddings read`, () =>
    embeddingsOfNetwork(db, history.networkId, EXACT_WINDOW),
  );
const hybrid = await search(db, history.networkId, 'household history', 20);
report(`  mode ${hybrid.mode}, ${hybrid.results.length} results`);

// The voice route's own work before its first token: decode, VAD, speaker model, the transcript call and
// the store, then the streamed reply's first chunk. The fake answers every call at once.
const voice = readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'audio', 'voice-a-1.mp3'));
await upsertClient(db, history.networkId, 'kitchen', {});
fake.respondWith((request) =>
  request.action === 'streamGenerateContent'
    ? reply.text('It is nine in the morning, and the sun is out.')
    : reply.json({ text: 'Mira, what time is it?', language: 'en', entities: [], topics: [], sentiment: 0 }),
);
await measure('voice route, time to first token without the model', async () => {
  const events = await startVoiceCommand(db, {
    networkId: history.networkId,
    clientId: 'kitchen',
    audio: voice,
  });
  for await (const chunk of events) if (chunk.includes('"type":"token"')) break;
});

await fake.close();
await bench.close();
