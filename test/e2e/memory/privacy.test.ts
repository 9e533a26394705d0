import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMemorySweep } from '../../../functions/memories/sweep';
import { insertAction } from '../../../shared/db/repositories/actions';
import { audioStorage } from '../../../shared/storage';
import { createApiKey, registerAccount, strictAuth, type Account } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { expectError } from '../../helpers/expect-error';
import { createTestApi } from '../../helpers/http';
import { memoryFrom as drawnFrom } from '../../helpers/memory';

/** GET P/export and the network setting retention_days, as a member of a household uses them. */
const database = useTestDatabase();
const api = createTestApi();
let auth: { restore: () => void };
beforeAll(() => {
  auth = strictAuth();
});
afterAll(() => auth.restore());

const DAY = 86_400_000;
const daysAgo = (days: number, now = Date.now()) => new Date(now - days * DAY).toISOString();

async function household(): Promise<Account & { P: string; ana: string }> {
  const account = await registerAccount(api);
  const P = `/api/v1/${account.networkId}`;
  const ana = (await api.post(`${P}/persons`, { name: 'Ana' }, { token: account.accessToken })).body.id;
  return { ...account, P, ana };
}

const say = async (
  h: { P: string; accessToken: string; ana: string },
  content: string,
  timestamp: string,
) => {
  const res = await api.post(
    `${h.P}/interactions`,
    { content, interaction_type: 'text', person_id: h.ana, timestamp },
    { token: h.accessToken },
  );
  expect(res.status).toBe(201);
  return res.body;
};

const memoryFrom = (interaction: any, text: string, status: 'proposed' | 'confirmed' = 'proposed') =>
  drawnFrom(database.db, interaction, text, { personIds: [interaction.person_id], status });

const actionOf = (networkId: string, interaction: any, details: string) =>
  insertAction(database.db, {
    networkId,
    actionType: 'remind',
    details,
    payload: {},
    personId: interaction.person_id,
    interactionId: interaction.id,
    conversationId: interaction.conversation_id,
    scheduledTime: null,
    origin: 'command',
  });

/** Follows next_cursor to the end, as `npm run export` does. */
async function exportAll(P: string, token: string, limit: number) {
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api.get(`${P}/export?${query}`, { token });
    expect(res.status).toBe(200);
    pages.push(res.body);
    cursor = res.body.next_cursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor);
  return pages;
}

describe('GET P/export', () => {
  it('pages through everything the network holds, each record once, persons without voice data', async () => {
    // Prepare: a few days of a household's history.
    const h = await household();
    const said = [];
    for (let i = 0; i < 7; i++) said.push(await say(h, `Utterance number ${i}`, daysAgo(7 - i)));
    const memory = await memoryFrom(said[2], 'Ana likes tea');
    const action = await actionOf(h.networkId, said[3], 'Buy tea');
    await api.patch(`${h.P}/retention`, { retention_days: 365 }, { token: h.accessToken });

    // Act
    const pages = await exportAll(`/api/v1`, h.accessToken, 3);

    // Assess: the first page carries the network (with its settings) and the persons, the rest the records.
    expect(pages.length).toBeGreaterThan(3);
    expect(pages[0]).toMatchObject({
      format: 'mira-export/1',
      network: { id: h.networkId, settings: { retention_days: 365 } },
      persons: [{ id: h.ana, name: 'Ana', has_voice_embedding: false }],
    });
    expect(pages.slice(1).every((p) => p.network === undefined && p.persons === undefined)).toBe(true);
    const all = (key: string) => pages.flatMap((p) => p[key]);
    expect(all('interactions').map((i) => i.text)).toEqual(said.map((s) => s.text).reverse());
    expect(new Set(all('conversations').map((c) => c.id))).toEqual(
      new Set(said.map((s) => s.conversation_id)),
    );
    expect(all('memories').map((m) => m.id)).toEqual([memory.id]);
    expect(all('actions').map((a) => a.id)).toEqual([action.id]);
    expect(
      pages.every(
        (p) =>
          ['conversations', 'interactions', 'memories', 'actions'].reduce((n, key) => n + p[key].length, 0) <=
          3,
      ),
    ).toBe(true);
    expect(JSON.stringify(pages)).not.toMatch(/"voice_embedding"|"embedding"|password|key_hash/);
  });

  it('is for the network’s members only: another tenant, a device key and no credentials are refused', async () => {
    const h = await household();
    await say(h, 'Our private words', daysAgo(1));
    const stranger = await household();
    await say(stranger, 'Someone else’s words', daysAgo(1));
    const key = await createApiKey(api, h);

    expectError(await api.get(`${h.P}/export`, { token: stranger.accessToken }), 403, 'FORBIDDEN');
    expectError(await api.get(`${h.P}/export`, { token: key.key }), 403, 'USER_TOKEN_REQUIRED');
    expectError(await api.get(`${h.P}/export`), 401, 'UNAUTHORIZED');
    expectError(
      await api.get(`${h.P}/export?cursor=bm90LWEtY3Vyc29y`, { token: h.accessToken }),
      422,
      'VALIDATION_ERROR',
    );
    const theirs = await exportAll(stranger.P, stranger.accessToken, 1000);
    expect(theirs.flatMap((p) => p.interactions).map((i) => i.text)).toEqual(['Someone else’s words']);
  });
});

describe('retention_days', () => {
  it('is a network setting, null by default (keep forever), checked', async () => {
    const h = await household();
    const token = { token: h.accessToken };
    expect((await api.get(`${h.P}/retention`, token)).body).toEqual({ retention_days: null });
    expect((await api.patch(`${h.P}/retention`, { retention_days: 30 }, token)).body).toEqual({
      retention_days: 30,
    });
    expectError(await api.patch(`${h.P}/retention`, { retention_days: 0 }, token), 422, 'VALIDATION_ERROR');
    expect((await api.patch(`${h.P}/retention`, { retention_days: null }, token)).body).toEqual({
      retention_days: null,
    });
    expect((await api.get(`${h.P}/service/info`, token)).body.settings).not.toHaveProperty('retention_days');
  });

  it('the sweep deletes older interactions with what derives only from them; recent ones, confirmed memories, open actions and other tenants stay', async () => {
    // Prepare: a household keeping 30 days, with an old conversation and a recent one; a neighbour keeping all.
    const h = await household();
    const token = { token: h.accessToken };
    await api.patch(`${h.P}/retention`, { retention_days: 30 }, token);
    const old = await say(h, 'The gate code is 9876', daysAgo(40));
    const oldToo = await say(h, 'We agreed on a blue sofa', daysAgo(40));
    const recent = await say(h, 'Lunch is ready', daysAgo(1));
    const dropped = await memoryFrom(old, 'The gate code is 9876');
    const agreed = await memoryFrom(oldToo, 'The sofa will be blue', 'confirmed');
    const stillToDo = await actionOf(h.networkId, old, 'Renew the passport');
    const done = await actionOf(h.networkId, oldToo, 'Order the sofa');
    await database.db.updateTable('actions').set({ status: 'done' }).where('id', '=', done.id).execute();
    // The register copy of the old utterance, with its audio in storage.
    const audioKey = `${h.networkId}/11111111-1111-4111-8111-111111111111`;
    await audioStorage().put(audioKey, Buffer.from('RIFF fake audio'));
    await database.db
      .insertInto('utterances')
      .values({
        network_id: h.networkId,
        client_id: 'kitchen',
        captured_at: new Date(old.timestamp),
        score: 50,
        status: 'stored',
        settle_until: new Date(old.timestamp),
        audio_key: audioKey,
        interaction_id: old.id,
      })
      .execute();
    const neighbour = await household();
    const theirs = await say(neighbour, 'Our old words', daysAgo(400));
    await database.db
      .updateTable('conversations')
      .set({ is_active: false })
      .where('id', 'in', [old.conversation_id, theirs.conversation_id])
      .execute();

    // Act
    const report = await runMemorySweep(database.db);

    // Assess
    expect(report.retained_out).toBe(2);
    const texts = (await api.get(`${h.P}/interactions`, token)).body.map((i: any) => i.text);
    expect(texts).toEqual(['Lunch is ready']);
    expectError(
      await api.get(`${h.P}/conversations/${old.conversation_id}`, token),
      404,
      'CONVERSATION_NOT_FOUND',
    );
    expect((await api.get(`${h.P}/conversations/${recent.conversation_id}`, token)).status).toBe(200);
    const memories = (await api.get(`${h.P}/memories`, token)).body;
    expect(memories.map((m: any) => m.id)).toEqual([agreed.id]);
    expect(memories[0].source_conversation_id).toBeNull();
    expect(memories.map((m: any) => m.id)).not.toContain(dropped.id);
    const actions = (await api.get(`${h.P}/actions`, token)).body;
    expect(actions.map((a: any) => [a.id, a.interaction_id, a.conversation_id])).toEqual([
      [stillToDo.id, null, null],
    ]);
    expect(await audioStorage().get(audioKey)).toBeUndefined();
    const copies = await database.db
      .selectFrom('utterances')
      .select('id')
      .where('network_id', '=', h.networkId)
      .execute();
    expect(copies).toEqual([]);
    const embeddings = await database.db
      .selectFrom('embeddings')
      .select('id')
      .where('interaction_id', 'in', [old.id, oldToo.id])
      .execute();
    expect(embeddings).toEqual([]);
    // The neighbour keeps everything: no retention there.
    expect(
      (await api.get(`${neighbour.P}/interactions`, { token: neighbour.accessToken })).body,
    ).toHaveLength(1);
  });

  it('a failure deletes nothing of its batch: interactions, memories and actions all stay, and the next sweep finishes', async () => {
    const h = await household();
    const token = { token: h.accessToken };
    await api.patch(`${h.P}/retention`, { retention_days: 7 }, token);
    const first = await say(h, 'First old words', daysAgo(10));
    const boom = await say(h, 'Words the database refuses to delete', daysAgo(10));
    await memoryFrom(first, 'Drawn from the first words');
    await actionOf(h.networkId, first, 'Something done long ago').then((a) =>
      database.db.updateTable('actions').set({ status: 'done' }).where('id', '=', a.id).execute(),
    );
    await sql`CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF OLD.text LIKE 'Words the database refuses%' THEN RAISE EXCEPTION 'refused'; END IF; RETURN OLD; END $$`.execute(
      database.db,
    );
    await sql`CREATE TRIGGER refuse_delete BEFORE DELETE ON interactions FOR EACH ROW EXECUTE FUNCTION refuse_delete()`.execute(
      database.db,
    );
    try {
      expect((await runMemorySweep(database.db)).retained_out).toBe(0);
      expect((await api.get(`${h.P}/interactions`, token)).body).toHaveLength(2);
      expect((await api.get(`${h.P}/memories`, token)).body).toHaveLength(1);
      expect((await api.get(`${h.P}/actions`, token)).body).toHaveLength(1);
    } finally {
      await sql`DROP TRIGGER refuse_delete ON interactions`.execute(database.db);
      await sql`DROP FUNCTION refuse_delete()`.execute(database.db);
    }
    expect((await runMemorySweep(database.db)).retained_out).toBe(2);
    expect((await api.get(`${h.P}/interactions`, token)).body).toEqual([]);
    expect(boom.id).toEqual(expect.any(String));
  });
});
