import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/audio';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { createTestApi } from '../helpers/http';

const database = useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();

describe('Idempotency-Key on the creating POSTs', () => {
  let networkId: string;
  let P: string;

  beforeAll(async () => {
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    await api.post(`${P}/service/clients`, { client_id: 'kitchen' });
  });

  const countRows = async (table: 'interactions' | 'persons') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('network_id', '=', networkId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('stores one interaction for 10 concurrent posts with one key, and answers the first answer to all', async () => {
    const before = await countRows('interactions');
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        api.post(
          `${P}/interactions`,
          { content: 'Buy milk', interaction_type: 'text' },
          {
            headers: { 'idempotency-key': 'post-once-1' },
          },
        ),
      ),
    );
    expect(await countRows('interactions')).toBe(before + 1);
    const stored = answers.filter((a) => a.status === 201);
    expect(stored.length).toBeGreaterThanOrEqual(1);
    // Late duplicates replay the answer; those that arrived while the first was in flight are told to retry.
    for (const answer of answers) expect([201, 409]).toContain(answer.status);
    const ids = new Set(stored.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const retry = await api.post(
      `${P}/interactions`,
      { content: 'Buy milk', interaction_type: 'text' },
      {
        headers: { 'idempotency-key': 'post-once-1' },
      },
    );
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe([...ids][0]);
    expect(retry.headers['idempotent-replayed']).toBe('true');
  });

  it('refuses a key reused for a different request', async () => {
    await api.post(
      `${P}/interactions`,
      { content: 'A', interaction_type: 'text' },
      {
        headers: { 'idempotency-key': 'reused-1' },
      },
    );
    const other = await api.post(
      `${P}/interactions`,
      { content: 'B', interaction_type: 'text' },
      {
        headers: { 'idempotency-key': 'reused-1' },
      },
    );
    expectError(other, 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('creates one person per key', async () => {
    const before = await countRows('persons');
    const first = await api.post(
      `${P}/persons`,
      { name: 'Alice' },
      { headers: { 'idempotency-key': 'alice-1' } },
    );
    const again = await api.post(
      `${P}/persons`,
      { name: 'Alice' },
      { headers: { 'idempotency-key': 'alice-1' } },
    );
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await countRows('persons')).toBe(before + 1);
  });

  it('answers 422 INVALID_IDEMPOTENCY_KEY to an empty or over-long key, and keeps accepting uploads', async () => {
    const pcm = fixture('speech-16k.pcm');
    for (const key of ['', 'k'.repeat(256), 'has space']) {
      const upload = await api.post(`${P}/interactions/register?client_id=kitchen`, pcm, {
        headers: { 'content-type': 'application/octet-stream', 'idempotency-key': key },
      });
      expectError(upload, 422, 'INVALID_IDEMPOTENCY_KEY');
      const post = await api.post(
        `${P}/interactions`,
        { content: 'x', interaction_type: 'text' },
        {
          headers: { 'idempotency-key': key },
        },
      );
      expectError(post, 422, 'INVALID_IDEMPOTENCY_KEY');
    }
    // Without a key, posts keep working (an empty key was once stored and broke every later one).
    for (let i = 0; i < 2; i++) {
      expect(
        (await api.post(`${P}/interactions`, { content: `ok ${i}`, interaction_type: 'text' })).status,
      ).toBe(201);
    }
  });
});
