import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../shared/db/client';
import {
  claimJob,
  deferJob,
  deleteJob,
  failJob,
  insertJob,
  listDeadJobs,
  nextJobInMs,
} from '../../shared/db/repositories/queue-jobs';
import { LocalWorker, type Delivery } from '../../shared/queue';
import { s3Storage } from '../../shared/storage';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

/** One handle per simulated process on a server (pool of one each), so claims really race. */
let workers: Db[] = [];
beforeAll(async () => {
  workers = database.url
    ? await Promise.all(Array.from({ length: 4 }, () => createDb({ connectionString: database.url })))
    : Array.from({ length: 4 }, () => database.db);
});
afterAll(async () => {
  if (database.url) await Promise.all(workers.map((db) => db.destroy()));
});

let queue = 0;
const fresh = () => `q-${++queue}`;

describe('the PostgreSQL queue', () => {
  it('never hands one job to two workers that claim at the same time', async () => {
    const name = fresh();
    for (let i = 0; i < 12; i++)
      await insertJob(database.db, { queue: name, body: { i }, delayMs: 0, maxAttempts: 3 });

    const claimed = (
      await Promise.all(
        workers.map(async (db) => {
          const mine = [];
          for (let job = await claimJob(db, name, 60_000); job; job = await claimJob(db, name, 60_000))
            mine.push(job);
          return mine;
        }),
      )
    ).flat();

    expect(claimed).toHaveLength(12);
    expect(new Set(claimed.map((j) => j.id)).size).toBe(12);
    expect(await claimJob(database.db, name, 60_000)).toBeUndefined();
  });

  it('hides a taken job until its visibility timeout, then delivers it again under a new token', async () => {
    const name = fresh();
    await insertJob(database.db, { queue: name, body: { n: 1 }, delayMs: 0, maxAttempts: 3 });
    const first = (await claimJob(database.db, name, 100))!;
    expect(await claimJob(database.db, name, 100)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 150));
    const second = (await claimJob(database.db, name, 60_000))!;

    expect(second).toMatchObject({ id: first.id, attempts: 2 });
    expect(second.lockToken).not.toBe(first.lockToken);
    // The presumed-dead delivery can no longer settle it.
    await deleteJob(database.db, first);
    expect(
      await database.db.selectFrom('queue_jobs').select('id').where('queue', '=', name).execute(),
    ).toHaveLength(1);
    await deleteJob(database.db, second);
    expect(await nextJobInMs(database.db, name)).toBeUndefined();
  });

  it('keeps a delayed job back, does not count a deferral, and dead-letters after the last attempt', async () => {
    const name = fresh();
    await insertJob(database.db, { queue: name, body: {}, delayMs: 60_000, maxAttempts: 2 });
    expect(await claimJob(database.db, name, 1000)).toBeUndefined();
    expect(await nextJobInMs(database.db, name)).toBeGreaterThan(50_000);
    await database.db
      .updateTable('queue_jobs')
      .set({ visible_at: new Date(0) })
      .where('queue', '=', name)
      .execute();

    const taken = (await claimJob(database.db, name, 1000))!;
    await deferJob(database.db, taken, 0);
    const again = (await claimJob(database.db, name, 1000))!;
    expect(again.attempts).toBe(1);
    await failJob(database.db, again, 'first failure', 0);
    const last = (await claimJob(database.db, name, 1000))!;
    expect(last.attempts).toBe(2);
    await failJob(database.db, last, 'second failure', 0);

    expect(await claimJob(database.db, name, 1000)).toBeUndefined();
    expect(await listDeadJobs(database.db, name)).toMatchObject([
      { attempts: 2, last_error: 'second failure' },
    ]);
  });

  it('drains jobs in-process: retries a failing one with backoff and tells the handler its last attempt', async () => {
    const deliveries: Delivery<{ n: number }>[] = [];
    const worker = new LocalWorker<{ n: number }>({
      queue: fresh(),
      db: () => Promise.resolve(database.db),
      maxAttempts: 3,
      handler: (delivery) => {
        deliveries.push(delivery);
        if (delivery.body.n === 1 && !delivery.lastAttempt) return Promise.reject(new Error('transient'));
        return Promise.resolve();
      },
    });
    await worker.send({ n: 1 });
    await worker.send({ n: 2 });
    for (let i = 0; i < 400 && deliveries.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();

    expect(deliveries.filter((d) => d.body.n === 2)).toHaveLength(1);
    expect(deliveries.filter((d) => d.body.n === 1).map((d) => [d.attempt, d.lastAttempt])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });
});

describe('S3 storage', () => {
  it('puts, gets and deletes objects with signed requests, and reads a missing object as undefined', async () => {
    const objects = new Map<string, Buffer>();
    const seen: Array<{ method: string; url: string; auth: string | undefined }> = [];
    const s3: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
        const key = req.url!;
        if (req.method === 'PUT') objects.set(key, Buffer.concat(chunks));
        if (req.method === 'DELETE') objects.delete(key);
        const found = objects.get(key);
        if (req.method === 'GET' && !found) res.writeHead(404).end();
        else res.writeHead(req.method === 'DELETE' ? 204 : 200).end(req.method === 'GET' ? found : undefined);
      });
    });
    await new Promise<void>((resolve) => s3.listen(0, '127.0.0.1', resolve));
    try {
      const storage = s3Storage(
        'mira-audio',
        { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' },
        `http://127.0.0.1:${(s3.address() as AddressInfo).port}`,
      );
      const bytes = Buffer.from([0, 1, 2, 255, 254]);
      await storage.put('net-1/utt-1', bytes);
      expect(await storage.get('net-1/utt-1')).toEqual(bytes);
      await storage.delete('net-1/utt-1');
      expect(await storage.get('net-1/utt-1')).toBeUndefined();
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        'PUT /mira-audio/net-1/utt-1',
        'GET /mira-audio/net-1/utt-1',
        'DELETE /mira-audio/net-1/utt-1',
        'GET /mira-audio/net-1/utt-1',
      ]);
      for (const s of seen)
        expect(s.auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\//);
      await expect(storage.put('../escape', bytes)).rejects.toThrow(/Unsafe/);
    } finally {
      await new Promise<void>((resolve) => s3.close(() => resolve()));
    }
  });
});
