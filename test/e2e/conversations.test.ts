import { beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';
import { expectError } from '../helpers/expect-error';

const database = useTestDatabase();
const api = createTestApi();

const at = (minutes: number, seconds = 0) =>
  new Date(Date.UTC(2026, 0, 1, 9, minutes, seconds)).toISOString();

describe('interactions and conversations', () => {
  let networkId: string;
  let P: string;
  let alice: string;
  let bob: string;

  const say = async (body: Record<string, unknown>) => {
    const res = await api.post(`${P}/interactions`, { interaction_type: 'text', ...body });
    expect(res.status).toBe(201);
    return res.body;
  };

  beforeEach(async () => {
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    alice = (await api.post(`${P}/persons`, { name: 'Alice' })).body.id;
    bob = (await api.post(`${P}/persons`, { name: 'Bob' })).body.id;
  });

  it('stores an interaction with both speaker_id and person_id and reads it back', async () => {
    await api.post(`${P}/service/clients`, { client_id: 'kitchen' });
    const created = await say({
      content: 'Hello Mira',
      person_id: alice,
      client_id: 'kitchen',
      metadata: { source: 'test' },
    });
    expect(created).toEqual({
      id: expect.any(String),
      network_id: networkId,
      conversation_id: expect.any(String),
      speaker_id: alice,
      person_id: alice,
      client_id: 'kitchen',
      interaction_type: 'text',
      text: 'Hello Mira',
      timestamp: expect.any(String),
      sentiment: null,
      entities: [],
      topics: [],
      metadata: { source: 'test' },
      created_at: expect.any(String),
    });
    expect((await api.get(`${P}/interactions/${created.id}`)).body).toEqual(created);
  });

  it('groups utterances into conversations by the 300 s and 150 s rules, with participants', async () => {
    const first = await say({ content: 'a', person_id: alice, timestamp: at(0) });
    const sameSpeaker = await say({ content: 'b', person_id: alice, timestamp: at(4, 50) }); // 290 s later
    const otherSoon = await say({ content: 'c', person_id: bob, timestamp: at(7) }); // 130 s later
    const otherLate = await say({ content: 'd', person_id: alice, timestamp: at(9, 40) }); // 160 s, new speaker
    const longGap = await say({ content: 'e', person_id: alice, timestamp: at(15) }); // 320 s

    expect(sameSpeaker.conversation_id).toBe(first.conversation_id);
    expect(otherSoon.conversation_id).toBe(first.conversation_id);
    expect(otherLate.conversation_id).not.toBe(first.conversation_id);
    expect(longGap.conversation_id).not.toBe(otherLate.conversation_id);

    const conversation = (await api.get(`${P}/conversations/${first.conversation_id}`)).body;
    expect(conversation).toMatchObject({
      id: first.conversation_id,
      network_id: networkId,
      title: null,
      started_at: at(0),
      is_active: false,
      participants: [alice, bob],
    });
    expect(conversation.ended_at).toBe(at(7));
    expect((await api.get(`${P}/persons/${alice}`)).body.conversation_count).toBe(3);
  });

  it('joins a named conversation and keeps the current one active', async () => {
    const first = await say({ content: 'hi', person_id: alice });
    const joined = await say({ content: 'hey', person_id: bob, conversation_id: first.conversation_id });
    expect(joined.conversation_id).toBe(first.conversation_id);
    const conversation = (await api.get(`${P}/conversations/${first.conversation_id}`)).body;
    expect(conversation).toMatchObject({ is_active: true, ended_at: null, participants: [alice, bob] });
  });

  it('lists conversations newest first with limit and offset', async () => {
    for (const minute of [0, 10, 20]) await say({ content: 'x', person_id: alice, timestamp: at(minute) });
    const page = await api.get(`${P}/conversations?limit=2`);
    expect(page.status).toBe(200);
    expect(page.body.map((c: any) => c.started_at)).toEqual([at(20), at(10)]);
    const rest = await api.get(`${P}/conversations?limit=2&offset=2`);
    expect(rest.body.map((c: any) => c.started_at)).toEqual([at(0)]);
    expectError(await api.get(`${P}/conversations?limit=101`), 422, 'VALIDATION_ERROR');
    expectError(await api.get(`${P}/conversations?limit=0`), 422, 'VALIDATION_ERROR');
  });

  it('lists interactions newest first, filtered by person and by conversation', async () => {
    const a1 = await say({ content: '1', person_id: alice, timestamp: at(0) });
    const b1 = await say({ content: '2', person_id: bob, timestamp: at(1) });
    const a2 = await say({ content: '3', person_id: alice, timestamp: at(30) });
    expect((await api.get(`${P}/interactions`)).body.map((i: any) => i.id)).toEqual([a2.id, b1.id, a1.id]);
    expect((await api.get(`${P}/interactions?person_id=${alice}`)).body.map((i: any) => i.id)).toEqual([
      a2.id,
      a1.id,
    ]);
    const inFirst = await api.get(`${P}/interactions?conversation_id=${a1.conversation_id}&limit=1&offset=1`);
    expect(inFirst.body.map((i: any) => i.id)).toEqual([a1.id]);
  });

  it('deletes an interaction', async () => {
    const said = await say({ content: 'oops' });
    expect((await api.delete(`${P}/interactions/${said.id}`)).body).toEqual({
      detail: 'Interaction deleted successfully',
    });
    expectError(await api.get(`${P}/interactions/${said.id}`), 404, 'INTERACTION_NOT_FOUND');
  });

  it('deletes a conversation with its interactions and actions in one go', async () => {
    const said = await say({ content: 'remind me', person_id: alice });
    const other = await say({
      content: 'later',
      person_id: alice,
      timestamp: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await database.db
      .insertInto('actions')
      .values({
        network_id: networkId,
        interaction_id: said.id,
        conversation_id: said.conversation_id,
        person_id: alice,
        action_type: 'remind',
        details: '{}',
      })
      .execute();
    const res = await api.delete(`${P}/conversations/${said.conversation_id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: 'Conversation deleted successfully',
      deleted_conversation_id: said.conversation_id,
      deleted_interactions: 1,
      deleted_actions: 1,
    });
    expectError(await api.get(`${P}/conversations/${said.conversation_id}`), 404, 'CONVERSATION_NOT_FOUND');
    expect((await api.get(`${P}/interactions`)).body.map((i: any) => i.id)).toEqual([other.id]);
    expect(await database.db.selectFrom('actions').selectAll().execute()).toEqual([]);
  });

  describe('errors', () => {
    let otherP: string;
    let theirPerson: string;
    let theirConversation: string;
    let theirInteraction: string;

    beforeEach(async () => {
      const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
      otherP = `/api/v1/${other}`;
      theirPerson = (await api.post(`${otherP}/persons`, { name: 'Zed' })).body.id;
      await api.post(`${otherP}/service/clients`, { client_id: 'office-mic' });
      const said = (
        await api.post(`${otherP}/interactions`, {
          content: 'x',
          interaction_type: 'text',
          person_id: theirPerson,
        })
      ).body;
      theirConversation = said.conversation_id;
      theirInteraction = said.id;
    });

    it('refuses to link to a person, conversation or client of another network, writing nothing', async () => {
      const before = await database.db.selectFrom('interactions').select('id').execute();
      expectError(
        await api.post(`${P}/interactions`, {
          content: 'x',
          interaction_type: 'text',
          person_id: theirPerson,
        }),
        404,
        'PERSON_NOT_FOUND',
      );
      expectError(
        await api.post(`${P}/interactions`, {
          content: 'x',
          interaction_type: 'text',
          conversation_id: theirConversation,
        }),
        404,
        'CONVERSATION_NOT_FOUND',
      );
      expectError(
        await api.post(`${P}/interactions`, {
          content: 'x',
          interaction_type: 'text',
          client_id: 'office-mic',
        }),
        404,
        'CLIENT_NOT_FOUND',
      );
      expect(await database.db.selectFrom('interactions').select('id').execute()).toEqual(before);
      expect((await api.get(`${P}/conversations`)).body).toEqual([]);
    });

    it('answers 404 for reading or deleting what belongs to another network', async () => {
      expectError(await api.get(`${P}/interactions/${theirInteraction}`), 404, 'INTERACTION_NOT_FOUND');
      expectError(await api.delete(`${P}/interactions/${theirInteraction}`), 404, 'INTERACTION_NOT_FOUND');
      expectError(await api.get(`${P}/conversations/${theirConversation}`), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.delete(`${P}/conversations/${theirConversation}`), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.get(`${P}/interactions?person_id=${theirPerson}`), 404, 'PERSON_NOT_FOUND');
      expectError(
        await api.get(`${P}/interactions?conversation_id=${theirConversation}`),
        404,
        'CONVERSATION_NOT_FOUND',
      );
      expect((await api.get(`${otherP}/interactions/${theirInteraction}`)).status).toBe(200);
    });

    it('answers 422 for a bad interaction type, empty content or a malformed id', async () => {
      expectError(
        await api.post(`${P}/interactions`, { content: 'x', interaction_type: 'video' }),
        422,
        'VALIDATION_ERROR',
      );
      expectError(
        await api.post(`${P}/interactions`, { content: '', interaction_type: 'text' }),
        422,
        'VALIDATION_ERROR',
      );
      expectError(
        await api.post(`${P}/interactions`, { content: 'x', interaction_type: 'text', person_id: 'nope' }),
        422,
        'VALIDATION_ERROR',
      );
      expectError(await api.get(`${P}/interactions/nope`), 422, 'VALIDATION_ERROR');
      expectError(await api.get(`${P}/interactions?limit=501`), 422, 'VALIDATION_ERROR');
    });
  });
});
