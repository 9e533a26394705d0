import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createDb, type Db } from '../../shared/db/client';
import {
  abandonIdempotent,
  beginIdempotent,
  completeIdempotent,
  requestFingerprint,
  withIdempotency,
} from '../../shared/db/repositories/idempotency';
import { createNetwork } from '../../shared/db/repositories/networks';
import { httpError, HttpError, unavailable } from '../../shared/errors';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

let lambdas: Db[] = [];
beforeAll(async () => {
  lambdas = database.url
    ? await Promise.all(Array.from({ length: 4 }, () => createDb({ connectionString: database.url })))
    : Array.from({ length: 4 }, () => database.db);
});
afterAll(async () => {
  if (database.url) await Promise.all(lambdas.map((db) => db.destroy()));
});

let networkId: string;
beforeEach(async () => {
  networkId = (await createNetwork(database.db, 'Home')).id;
});

const fingerprint = requestFingerprint('POST', '/interactions/register', 'kitchen', Buffer.from([1, 2, 3]));

/** The work an upload does: store one interaction and record the answer in the same transaction. */
const upload = (db: Db, key: string, calls: { n: number }, fp = fingerprint) =>
  withIdempotency(db, { networkId, key, fingerprint: fp }, async (complete) => {
    calls.n++;
    return db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('interactions')
        .values({
          network_id: networkId,
          interaction_type: 'audio',
          text: 'hello',
          entities: '[]',
          topics: '[]',
          metadata: '{}',
          idempotency_key: key,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const answer = { statusCode: 200, body: { id: row.id, text: 'hello' } };
      await complete(trx, answer.statusCode, answer.body);
      return answer;
    });
  });

const stored = async () =>
  Number(
    (
      await sql<{
        n: string;
      }>`SELECT count(*) AS n FROM interactions WHERE network_id = ${networkId}`.execute(database.db)
    ).rows[0].n,
  );

describe('idempotency', () => {
  it('replays the first answer to a retry and stores once', async () => {
    const calls = { n: 0 };

    const first = await upload(database.db, 'key-1', calls);
    const retry = await upload(database.db, 'key-1', calls);

    expect(first).toMatchObject({ statusCode: 200, replayed: false });
    expect(retry).toEqual({ ...first, replayed: true });
    expect(calls.n).toBe(1);
    expect(await stored()).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_IN_PROGRESS to a duplicate that arrives while the first is processing', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = withIdempotency(database.db, { networkId, key: 'k', fingerprint }, async () => {
      await gate;
      return { statusCode: 201, body: { ok: true } };
    });
    await new Promise((resolve) => setTimeout(resolve, 50));

    const duplicate = withIdempotency(database.db, { networkId, key: 'k', fingerprint }, async () => ({
      statusCode: 201,
      body: { ok: 'twice' },
    }));

    await expect(duplicate).rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' });
    release();
    await expect(slow).resolves.toMatchObject({ statusCode: 201, body: { ok: true } });
  });

  it('lets exactly one of several simultaneous duplicates do the work', async () => {
    const calls = { n: 0 };

    const results = await Promise.allSettled(lambdas.map((db) => upload(db, 'same', calls)));

    expect(calls.n).toBe(1);
    expect(await stored()).toBe(1);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled.length).toBeGreaterThanOrEqual(1);
    for (const r of rejected)
      expect(r.reason).toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' });
  });

  it('refuses the same key for a different request with 422', async () => {
    await upload(database.db, 'k2', { n: 0 });

    const other = upload(
      database.db,
      'k2',
      { n: 0 },
      requestFingerprint('POST', '/interactions/register', 'other'),
    );

    await expect(other).rejects.toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await stored()).toBe(1);
  });

  it('remembers a 4xx answer and replays it as the same error', async () => {
    const calls = { n: 0 };
    const noSpeech = () =>
      withIdempotency(database.db, { networkId, key: 'silent', fingerprint }, async () => {
        calls.n++;
        throw httpError('NO_SPEECH', 'No speech detected in the audio');
      });

    await expect(noSpeech()).rejects.toMatchObject({ status: 422, code: 'NO_SPEECH' });
    const replay = await noSpeech().catch((e: unknown) => e);

    expect(replay).toBeInstanceOf(HttpError);
    expect(replay).toMatchObject({
      status: 422,
      code: 'NO_SPEECH',
      message: 'No speech detected in the audio',
    });
    expect(calls.n).toBe(1);
  });

  it('forgets a failed attempt (5xx, or a rolled-back transaction) so the retry runs again', async () => {
    const calls = { n: 0 };
    await expect(
      withIdempotency(database.db, { networkId, key: 'flaky', fingerprint }, async (complete) => {
        calls.n++;
        await database.db.transaction().execute(async (trx) => {
          await complete(trx, 200, { never: 'committed' });
          throw unavailable('TRANSCRIPTION_UNAVAILABLE', 'down');
        });
        return { statusCode: 200, body: {} };
      }),
    ).rejects.toMatchObject({ status: 503 });

    const retry = await upload(database.db, 'flaky', calls);

    expect(retry).toMatchObject({ statusCode: 200, replayed: false });
    expect(calls.n).toBe(2);
    expect(await stored()).toBe(1);
  });

  it('takes over a record left in progress by a crashed request once it is stale', async () => {
    expect(await beginIdempotent(database.db, { networkId, key: 'crash', fingerprint })).toEqual({
      state: 'started',
    });
    expect(await beginIdempotent(database.db, { networkId, key: 'crash', fingerprint })).toEqual({
      state: 'in_progress',
    });
    await sql`UPDATE idempotency_records SET created_at = now() - interval '2 minutes'`.execute(database.db);

    expect(await beginIdempotent(database.db, { networkId, key: 'crash', fingerprint })).toEqual({
      state: 'started',
    });
    expect(await beginIdempotent(database.db, { networkId, key: 'crash', fingerprint })).toEqual({
      state: 'in_progress',
    });
  });

  it('keys are per network, and abandon never removes a completed answer', async () => {
    const other = (await createNetwork(database.db, 'Office')).id;
    await beginIdempotent(database.db, { networkId, key: 'k', fingerprint });
    await completeIdempotent(database.db, { networkId, key: 'k', statusCode: 201, body: { a: 1 } });

    expect(await beginIdempotent(database.db, { networkId: other, key: 'k', fingerprint })).toEqual({
      state: 'started',
    });
    await abandonIdempotent(database.db, { networkId, key: 'k' });
    expect(await beginIdempotent(database.db, { networkId, key: 'k', fingerprint })).toEqual({
      state: 'replay',
      statusCode: 201,
      body: { a: 1 },
    });
  });

  it('rejects malformed keys', async () => {
    await expect(
      withIdempotency(database.db, { networkId, key: 'has space', fingerprint }, async () => ({
        statusCode: 200,
        body: {},
      })),
    ).rejects.toMatchObject({ status: 422, code: 'INVALID_IDEMPOTENCY_KEY' });
  });

  it('fingerprints by content and part boundaries', () => {
    expect(requestFingerprint('ab', 'c')).not.toBe(requestFingerprint('a', 'bc'));
    expect(requestFingerprint('a', Buffer.from('b'))).toBe(requestFingerprint('a', 'b'));
  });
});
