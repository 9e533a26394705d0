import { beforeAll, describe, expect, it } from 'vitest';
import { insertInteraction } from '../../shared/db/repositories/interactions';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { createTestApi } from '../helpers/http';

const database = useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();

describe('GET interactions as the 4.x app lists them', () => {
  let P: string;
  const conversations: string[] = [];

  beforeAll(async () => {
    const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    // Three conversations (one per explicit start), two utterances each.
    for (let c = 0; c < 3; c++) {
      const first = await api.post(`${P}/interactions`, {
        content: `c${c} first`,
        interaction_type: 'text',
        timestamp: new Date(Date.UTC(2026, 0, 1 + c * 2)).toISOString(),
      });
      conversations.push(first.body.conversation_id);
      await api.post(`${P}/interactions`, {
        content: `c${c} second`,
        interaction_type: 'text',
        conversation_id: first.body.conversation_id,
        timestamp: new Date(Date.UTC(2026, 0, 1 + c * 2, 0, 1)).toISOString(),
      });
    }
    // Utterances that belong to no conversation (kept when older clients stored them so).
    for (const text of ['orphan a', 'orphan b'])
      await insertInteraction(database.db, {
        networkId,
        conversationId: null,
        personId: null,
        clientId: null,
        interactionType: 'text',
        text,
        timestamp: new Date(),
      });
  });

  it('filters by repeated conversation_ids', async () => {
    const res = await api.get(
      `${P}/interactions?conversation_ids=${conversations[0]}&conversation_ids=${conversations[2]}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.map((i: any) => i.text).sort()).toEqual([
      'c0 first',
      'c0 second',
      'c2 first',
      'c2 second',
    ]);
    const one = await api.get(`${P}/interactions?conversation_ids=${conversations[1]}`);
    expect(one.body.map((i: any) => i.conversation_id)).toEqual([conversations[1], conversations[1]]);
  });

  it('lists only the interactions without a conversation with orphans_only=true', async () => {
    const res = await api.get(`${P}/interactions?orphans_only=true`);
    expect(res.body.map((i: any) => i.text).sort()).toEqual(['orphan a', 'orphan b']);
    expect((await api.get(`${P}/interactions?orphans_only=false&limit=500`)).body).toHaveLength(8);
  });

  it('takes a limit up to 500 and refuses more, or a malformed conversation id', async () => {
    expect((await api.get(`${P}/interactions?limit=500`)).status).toBe(200);
    expectError(await api.get(`${P}/interactions?limit=501`), 422, 'VALIDATION_ERROR');
    expectError(await api.get(`${P}/interactions?conversation_ids=nope`), 422, 'VALIDATION_ERROR');
  });
});
