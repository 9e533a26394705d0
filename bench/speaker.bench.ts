/**
 * `npm run bench -- speaker`: what telling who spoke costs as a household's history grows (issue 16 item 1),
 * at 10, 100 and 1000 persons with 3 embeddings each, on the PostgreSQL of DATABASE_URL (a database of its
 * own, dropped afterwards) or else an in-memory PGlite:
 *
 * - "before": the pre-0030 path, `listVoiceprints` (every person's `real[]`, parsed from text) and
 *   `matchSpeaker`, under the network lock, as resolveSpeaker did on every utterance;
 * - "resolveSpeaker": the open-set decision on the cached float32 embeddings (one version query, then one
 *   dot product per stored embedding), for a voice that matches an enrolled person;
 * - "resolveSpeaker, cold": the same with the cache dropped before each call (one bytea read of the
 *   network's embeddings), what a new Lambda instance or a changed network pays once;
 * - "register": POST P/interactions/register end to end with the device's transcript (no model call).
 *
 * Prints the load average beside the figures: the machine is shared.
 */
import './speaker-env';
import { startBenchApi } from './harness';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { createDb, setDb, type Db } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';

const { analyzeAudio } = await import('../shared/audio/index');
const { speakerModelCard } = await import('../shared/audio/model-card');
const { cohortStats } = await import('../shared/domain/speaker-score');
const { matchSpeaker } = await import('../shared/domain/speaker-match');
const { listVoiceprints, embeddingBytes } = await import('../shared/db/repositories/voiceprints');
const { advisoryLock } = await import('../shared/db/transaction');
const { resolveSpeaker, speakerEvidence, speakerPolicy } = await import('../functions/persons/service');
const { forgetSpeakerCache } = await import('../functions/persons/speakers');
const { multipart } = await import('../test/helpers/http');

const serverUrl = process.env.DATABASE_URL;
const dbName = `mira_bench_speaker_${process.pid}`;

async function database(): Promise<{ db: Db; drop: () => Promise<void>; driver: string }> {
  if (!serverUrl) {
    const api = await startBenchApi();
    return { db: api.db, drop: api.close, driver: 'PGlite' };
  }
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const db = await createDb({ connectionString: url.toString() });
  await migrateToLatest(db);
  setDb(db);
  return {
    db,
    driver: 'PostgreSQL',
    drop: async () => {
      await db.destroy();
      await admin(`DROP DATABASE IF EXISTS ${dbName}`);
    },
  };
}

const { db, drop, driver } = await database();
const { LocalDispatcher, toApiGatewayEvent } = await import('../local/dispatch');
const { contexts, defaultContextName } = await import('../functions/contexts');
const dispatcher = new LocalDispatcher(contexts, defaultContextName);
const send = (method: string, url: string, headers: Record<string, string> = {}, body = Buffer.alloc(0)) =>
  dispatcher.invoke(toApiGatewayEvent({ method, url, headers, body }));

const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures', 'audio');
// Voice c: under the default model's AS-norm it scores 6.8-7.9 against itself, above the card's accept
// score (voice a, close to many cohort voices, tops out near 3.4 and would stay unknown).
const voice = readFileSync(join(fixtures, 'voice-c-1.mp3'));
const analysis = await analyzeAudio(voice);
const evidence = speakerEvidence(analysis);
const embedding = analysis.embedding!;
const cohort = speakerModelCard().cohort;

/** A deterministic random unit vector (mulberry32). */
function randomUnit(seed: number, dim: number): Float32Array {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const v = Float32Array.from({ length: dim }, rand);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A network with `n` persons of 3 embeddings each (and their legacy running mean); person 1 is voice c. */
async function household(n: number): Promise<string> {
  const { id } = await db
    .insertInto('networks')
    .values({ name: `bench-${n}`, settings: '{}' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('network_clients').values({ network_id: id, client_id: 'kitchen' }).execute();
  for (let start = 1; start <= n; start += 200) {
    const batch = Array.from({ length: Math.min(200, n - start + 1) }, (_, i) => start + i);
    const vectors = batch.map((index) =>
      index === 1
        ? [embedding, embedding, embedding]
        : [0, 1, 2].map((k) => randomUnit(index * 7 + k, embedding.length)),
    );
    const persons = await db
      .insertInto('persons')
      .values(
        batch.map((index, i) => ({
          network_id: id,
          name: `Person ${index}`,
          index,
          voice_embedding: Array.from(vectors[i][0]),
          voice_sample_count: 3,
        })),
      )
      .returning(['id', 'index'])
      .execute();
    await db
      .insertInto('speaker_embeddings')
      .values(
        persons.flatMap((p, i) =>
          vectors[i].map((v) => {
            const s = cohortStats(v, cohort);
            return {
              network_id: id,
              person_id: p.id,
              source: 'enrolment' as const,
              embedding: embeddingBytes(v),
              cohort_mean: s.mean,
              cohort_std: s.std,
              voiced_seconds: 3,
            };
          }),
        ),
      )
      .execute();
  }
  return id;
}

async function time(iterations: number, run: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 3; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return (q: number) => times[Math.floor(q * (times.length - 1))];
}

let clock = Date.UTC(2026, 0, 1, 9);
const rows: string[] = [];
const fmt = (x: number) => x.toFixed(2).padStart(8);
for (const n of [10, 100, 1000]) {
  const networkId = await household(n);
  const policy = speakerPolicy({});
  const before = await time(20, () =>
    db.transaction().execute(async (trx) => {
      await advisoryLock(trx, 'personIndex', networkId);
      return matchSpeaker(embedding, await listVoiceprints(trx, networkId), 0.7);
    }),
  );
  const after = await time(40, () =>
    db.transaction().execute(async (trx) => {
      const r = await resolveSpeaker(trx, networkId, evidence, policy);
      if (r.outcome !== 'matched') throw new Error(`expected a match, got ${JSON.stringify(r)}`);
    }),
  );
  const cold = await time(20, () => {
    forgetSpeakerCache(networkId);
    return db.transaction().execute((trx) => resolveSpeaker(trx, networkId, evidence, policy));
  });
  const register = await time(20, async () => {
    clock += 20_000;
    const form = multipart({
      audio: { filename: 'a.mp3', content: voice, mimetype: 'audio/mpeg' },
      client_id: 'kitchen',
      captured_at: new Date(clock).toISOString(),
      transcript: 'Benchmark utterance',
    });
    const res = await send(
      'POST',
      `/api/v1/${networkId}/interactions/register`,
      { 'content-type': form.contentType },
      Buffer.from(form.buffer),
    );
    if (res.statusCode !== 201) throw new Error(`register answered ${res.statusCode}: ${res.body}`);
  });
  rows.push(
    `${String(n).padStart(5)} persons | before (real[]) p50 ${fmt(before(0.5))} ms | resolveSpeaker p50 ${fmt(after(0.5))} ms` +
      ` p95 ${fmt(after(0.95))} | cold p50 ${fmt(cold(0.5))} ms | register p50 ${fmt(register(0.5))} ms` +
      ` p95 ${fmt(register(0.95))} | load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(rows.at(-1));
}
const [{ count }] = await sql<{ count: number }>`SELECT count(*)::int AS count FROM speaker_embeddings`
  .execute(db)
  .then((r) => r.rows);
console.log(`(${driver}; ${count} stored embeddings; 3 per person; matching voice c against person 1)`);
await drop();
