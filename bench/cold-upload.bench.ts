/**
 * `npm run bench -- cold-upload`: what the first person to speak after a cold start waits for. Each audio
 * bundle (persons, interactions, streams), built and staged as the image is, is imported in a fresh Node
 * process and sent its first REAL upload (a voice sample, an utterance with its transcript, a stream
 * sample; the utterance is sent `Prefer: respond-async`, as register v2's devices do, so its figure is the
 * accept) against a migrated PostgreSQL database: module evaluation, the ONNX model sessions, the audio
 * analysis and the database round trips, all on the clock (the bundle bench's 405 answer stops before any
 * of them). Target: <= 600 ms. Median of BENCH_RUNS (5) fresh processes, with the load average.
 * PostgreSQL only (DATABASE_URL). The database is reached directly (DATABASE_URL, no TLS): the secrets
 * path of AWS is on the bundle bench's clock instead.
 */
import './quiet-env';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle } from '../scripts/build-bundles';
import { lambdaEnvironment, probeBundle, stageImage } from '../scripts/probe-bundle';
import { apiEvent } from '../test/helpers/bundles';
import { multipart } from '../test/helpers/http';
import { openBenchDb } from './bench-db';
import { median, report } from './load';

if (!process.env.DATABASE_URL) {
  console.log('skipped: set DATABASE_URL to a PostgreSQL server');
  process.exit(0);
}
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const bench = await openBenchDb();
const { createNetwork, upsertClient } = await import('../shared/db/repositories/networks');
const { createPerson } = await import('../shared/db/repositories/persons');
const network = await createNetwork(bench.db, 'cold start');
await upsertClient(bench.db, network.id, 'kitchen');
const person = await createPerson(bench.db, network.id, 'Ann');
// A device's API key: the image runs in production mode, where network-id access is off.
const { generateApiKey } = await import('../shared/auth/api-keys');
const { insertApiKey } = await import('../shared/db/repositories/credentials');
const apiKey = generateApiKey();
await insertApiKey(bench.db, {
  networkId: network.id,
  name: 'bench',
  prefix: apiKey.prefix,
  hash: apiKey.hash,
  createdBy: null,
});
const voice = readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'audio', 'voice-a-1.mp3'));
const P = `/api/v1/${network.id}`;
let clock = Date.UTC(2026, 0, 1, 9);

/** The first real upload each audio bundle serves, a fresh one per process (new capture time). */
const uploads: Record<string, () => ReturnType<typeof apiEvent>> = {
  persons: () => {
    const form = multipart({ audio_file: { filename: 'a.mp3', content: voice, mimetype: 'audio/mpeg' } });
    return apiEvent('POST', `${P}/persons/${person.id}/voice`, {
      headers: { 'content-type': form.contentType, 'x-api-key': apiKey.key },
      body: form.buffer,
    });
  },
  interactions: () => {
    const form = multipart({
      audio: { filename: 'a.mp3', content: voice, mimetype: 'audio/mpeg' },
      client_id: 'kitchen',
      transcript: 'Good morning',
      captured_at: new Date((clock += 60_000)).toISOString(),
    });
    // Register v2's answer to a device is the accept (202): the settle window and the processing follow
    // on the queue's worker, so a synchronous caller's wait (400 ms of settle window included) is not the
    // cold start's.
    return apiEvent('POST', `${P}/interactions/register`, {
      headers: { 'content-type': form.contentType, 'x-api-key': apiKey.key, prefer: 'respond-async' },
      body: form.buffer,
    });
  },
  streams: () => {
    const form = multipart({ audio_data: { filename: 'a.mp3', content: voice, mimetype: 'audio/mpeg' } });
    return apiEvent('POST', `${P}/streams/kitchen/audio`, {
      headers: { 'content-type': form.contentType, 'x-api-key': apiKey.key },
      body: form.buffer,
    });
  },
};

const work = mkdtempSync(join(tmpdir(), 'mira-bench-cold-upload-'));
try {
  console.log(
    `cold start to the first real upload, median of ${RUNS} fresh processes; target <= 600 ms\n` +
      `${'function'.padEnd(14)}${'import'.padStart(9)}${'1st upload'.padStart(12)}${'cold total'.padStart(12)}${'2nd upload'.padStart(12)}`,
  );
  for (const name of Object.keys(uploads)) {
    const bundle = await buildBundle(name, join(work, 'asset', name));
    const image = stageImage(bundle.outDir, join(work, 'task', name));
    const imports: number[] = [];
    const firsts: number[] = [];
    const seconds: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const probe = await probeBundle(image.dir, [uploads[name](), uploads[name]()], {
        ...image.env,
        ...lambdaEnvironment(name),
        DATABASE_URL: bench.url,
        DATABASE_SSL: 'disable',
        JWT_SECRET: 'bench-secret',
      });
      for (const call of probe.invocations)
        if (!call.statusCode || call.statusCode >= 300)
          throw new Error(`${name} answered ${call.statusCode ?? call.error?.message}: ${call.body}`);
      imports.push(probe.importMs);
      firsts.push(probe.invocations[0].ms);
      seconds.push(probe.invocations[1].ms);
    }
    const total = median(imports.map((v, i) => v + firsts[i]));
    report(
      `${name.padEnd(14)}${median(imports).toFixed(0).padStart(7)}ms${median(firsts).toFixed(0).padStart(10)}ms` +
        `${total.toFixed(0).padStart(10)}ms${median(seconds).toFixed(0).padStart(10)}ms  ${total <= 600 ? '<= 600 ok' : '> 600 MISSED'}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  await bench.close();
}
