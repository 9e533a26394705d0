import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { createTestApi } from '../helpers/http';

const database = useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();

/** Every page from `url` on, following `Link: <...>; rel="next"` as a client does. */
async function followLinks(url: string) {
  const pages: string[][] = [];
  let next: string | undefined = url;
  while (next) {
    const res: { status: number; body: { text: string }[]; headers: Record<string, string> } =
      await api.get(next);
    expect(res.status).toBe(200);
    pages.push(res.body.map((i) => i.text));
    next = /^<([^>]+)>; rel="next"$/.exec(res.headers.link ?? '')?.[1];
    if (next) expect(res.headers['next-cursor']).toBeTruthy();
  }
  return pages;
}

describe('GET interactions by cursor (keyset pagination beside offset)', () => {
  let P: string;
  let newestFirst: string[];

  beforeAll(async () => {
    const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    for (let i = 0; i < 5; i++)
      await api.post(`${P}/interactions`, {
        content: `said ${i}`,
        interaction_type: 'text',
        timestamp: new Date(Date.UTC(2026, 0, 1, 9, i)).toISOString(),
      });
    // Three utterances inside one millisecond (microseconds apart) and two at the very same instant: a
    // cursor rounded to the millisecond, or without the id, would skip or repeat some of them.
    await sql`INSERT INTO interactions (network_id, interaction_type, text, timestamp)
      VALUES (${networkId}::uuid, 'text', 'micro 1', '2026-01-01T10:00:00.000001Z'),
             (${networkId}::uuid, 'text', 'micro 2', '2026-01-01T10:00:00.000002Z'),
             (${networkId}::uuid, 'text', 'micro 3', '2026-01-01T10:00:00.000003Z'),
             (${networkId}::uuid, 'text', 'same a', '2026-01-01T11:00:00Z'),
             (${networkId}::uuid, 'text', 'same b', '2026-01-01T11:00:00Z')`.execute(database.db);
    newestFirst = (await api.get(`${P}/interactions?limit=500`)).body.map((i: { text: string }) => i.text);
    expect(newestFirst).toHaveLength(10);
  });

  it('walks every interaction once, in order, by following the next links', async () => {
    const pages = await followLinks(`${P}/interactions?limit=3`);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(pages.flat()).toEqual(newestFirst);
  });

  it('takes the cursor from the Next-Cursor header as before=', async () => {
    const first = await api.get(`${P}/interactions?limit=4`);
    const second = await api.get(`${P}/interactions?limit=4&before=${first.headers['next-cursor']}`);
    expect(second.body.map((i: { text: string }) => i.text)).toEqual(newestFirst.slice(4, 8));
  });

  it('says nothing about a next page when the page is not full', async () => {
    const res = await api.get(`${P}/interactions?limit=50`);
    expect(res.headers.link).toBeUndefined();
    expect(res.headers['next-cursor']).toBeUndefined();
  });

  it('keeps offset for the clients that send it (4.x app), with the same answers as before', async () => {
    const res = await api.get(`${P}/interactions?limit=3&offset=3`);
    expect(res.body.map((i: { text: string }) => i.text)).toEqual(newestFirst.slice(3, 6));
  });

  it('keeps the filters in the next link', async () => {
    const res = await api.get(`${P}/interactions?limit=1&orphans_only=true`);
    expect(res.headers.link).toContain('orphans_only=true');
    const pages = await followLinks(`${P}/interactions?limit=2&orphans_only=true`);
    expect(pages.flat()).toEqual(newestFirst.filter((t) => !t.startsWith('said')));
  });

  it('answers 422 for a cursor it never handed out', async () => {
    for (const before of ['nonsense', Buffer.from('2026-01-01|x').toString('base64url')])
      expectError(await api.get(`${P}/interactions?before=${before}`), 422, 'VALIDATION_ERROR');
  });
});
