import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runMemorySweep } from '../../../functions/memories/sweep';
import { vectorPath } from '../../../shared/db/vector';
import { useTestDatabase } from '../../helpers/db';
import { expectError } from '../../helpers/expect-error';
import { bagOfWords, reply } from '../../helpers/fake-gemini';
import { createTestApi } from '../../helpers/http';
import { useFakeGemini } from '../../helpers/use-fake-gemini';

/**
 * GET P/search on both similarity paths: PGlite has pgvector (its vector extension), the PostgreSQL 15 of
 * DATABASE_URL has not and is compared exactly. The same questions get the same answers on both.
 */
const database = useTestDatabase();
const gemini = useFakeGemini();
const { fake } = gemini;
const api = createTestApi();

// What a real embedding model knows and a bag of words does not: these words mean the same.
const SYNONYMS: Record<string, string[]> = {
  saturday: ['weekend'],
  weekend: ['saturday'],
  meet: ['see'],
  seeing: ['see', 'meet'],
  market: ['shop'],
};

beforeAll(() => gemini.configure());
beforeEach(() => {
  fake.reset();
  fake.embedWith(bagOfWords(SYNONYMS));
});

async function homeWithPlan(name: string) {
  const networkId = (await api.post('/api/v1/networks', { name })).body.id;
  const P = `/api/v1/${networkId}`;
  const anna = (await api.post(`${P}/persons`, { name: 'Anna' })).body.id;
  const said = (
    await api.post(`${P}/interactions`, {
      content: 'Shall we meet at the market on Saturday at ten?',
      interaction_type: 'text',
      person_id: anna,
      timestamp: '2026-12-01T09:00:00Z',
    })
  ).body;
  await api.post(`${P}/interactions`, {
    content: 'The boiler makes a strange noise again.',
    interaction_type: 'text',
    person_id: anna,
    timestamp: '2026-12-01T09:00:20Z',
  });
  fake.enqueue(
    reply.json({
      title: 'Saturday plans',
      topic_summary: 'Meeting at the market',
      context_summary: 'Anna suggested meeting at the market on Saturday at ten.',
      memories: [
        {
          memory_type: 'plan',
          canonical_text: 'Anna meets Ben at the market on Saturday 5 December at 10:00',
          participant_person_ids: [anna],
          action_kind: 'schedule',
          proposed_start_at: '2026-12-05T10:00:00',
          proposed_end_at: null,
          expires_at: null,
          confidence: 0.9,
          source_interaction_ids: [said.id],
        },
      ],
      memory_updates: [],
    }),
  );
  return { networkId, P, said };
}

describe('search', () => {
  it('finds a plan by a paraphrase that shares no word with it, and by its words, ranked with snippets', async () => {
    // Prepare: the sweep summarises and embeds every stored text (off the request path).
    const { P, said } = await homeWithPlan('Home');
    const report = await runMemorySweep(database.db, new Date('2026-12-01T09:10:00Z'));
    expect(report).toMatchObject({ summarized: 1, embedded: 4 });
    expect(await vectorPath(database.db)).toBe(database.url ? 'exact' : 'pgvector');
    const [memory] = (await api.get(`${P}/memories`)).body;

    // Act
    const byMeaning = await api.get(
      `${P}/search?q=${encodeURIComponent('seeing each other at the weekend')}`,
    );
    const byWords = await api.get(`${P}/search?q=boiler+noise`);

    // Assess
    expect(byMeaning.status).toBe(200);
    expect(byMeaning.body.mode).toBe('hybrid');
    const found = byMeaning.body.results.map((r: any) => `${r.type}:${r.id}`);
    expect(found).toContain(`memory:${memory.id}`);
    expect(found).toContain(`interaction:${said.id}`);
    expect(found).not.toContain(expect.stringMatching(/boiler/));
    const hit = byMeaning.body.results.find((r: any) => r.id === memory.id);
    expect(hit).toMatchObject({ matched_by: ['meaning'], snippet: memory.canonical_text });
    expect(byWords.body.results[0]).toMatchObject({
      type: 'interaction',
      matched_by: ['meaning', 'text'],
      snippet: expect.stringContaining('**boiler**'),
    });
    // Once embedded, nothing is embedded again; the query is the only embedding call.
    const embedCalls = () => fake.requests.filter((r) => r.action === 'batchEmbedContents').length;
    const before = embedCalls();
    expect((await runMemorySweep(database.db, new Date('2026-12-01T09:11:00Z'))).embedded).toBe(0);
    expect(embedCalls()).toBe(before);
  });

  it('is scoped to the network, validates its query and falls back to full-text without Gemini', async () => {
    const mine = await homeWithPlan('Mine');
    await runMemorySweep(database.db, new Date('2026-12-01T09:10:00Z'));
    const theirs = (await api.post('/api/v1/networks', { name: 'Theirs' })).body.id;
    const other = await api.get(`/api/v1/${theirs}/search?q=market+saturday`);
    expect(other.body.results).toEqual([]);

    expectError(await api.get(`${mine.P}/search`), 422, 'VALIDATION_ERROR');
    expectError(await api.get(`${mine.P}/search?q=%20`), 422, 'VALIDATION_ERROR');

    gemini.configure({ key: false });
    try {
      const plain = await api.get(`${mine.P}/search?q=market`);
      expect(plain.body.mode).toBe('full_text');
      expect(plain.body.results.length).toBeGreaterThan(0);
      expect(plain.body.results.every((r: any) => r.matched_by.includes('text'))).toBe(true);
    } finally {
      gemini.configure();
    }
  });
});
