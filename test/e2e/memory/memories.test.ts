import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runMemorySweep } from '../../../functions/memories/sweep';
import { announceConversations } from '../../../functions/interactions/conversation-events';
import { useTestDatabase } from '../../helpers/db';
import { expectError } from '../../helpers/expect-error';
import { reply } from '../../helpers/fake-gemini';
import { createTestApi } from '../../helpers/http';
import { openDeviceSocket, useSentEvents } from '../../helpers/memory';
import { useFakeGemini } from '../../helpers/use-fake-gemini';

/**
 * Conversation intelligence end to end: utterances go in through the API, the sweep (or the end of the
 * conversation) summarises them with the fake Gemini, and memories, their actions and the events come out.
 */
const database = useTestDatabase();
const gemini = useFakeGemini();
const { fake } = gemini;
const api = createTestApi();

const sent = useSentEvents();
beforeAll(() => gemini.configure());
beforeEach(() => fake.reset());

interface Home {
  networkId: string;
  P: string;
  anna: string;
  ben: string;
}

async function home(name = 'Home'): Promise<Home> {
  const networkId = (await api.post('/api/v1/networks', { name })).body.id;
  const P = `/api/v1/${networkId}`;
  await api.patch(`/api/v1/${networkId}/service/network/enable`);
  const anna = (await api.post(`${P}/persons`, { name: 'Anna' })).body.id;
  const ben = (await api.post(`${P}/persons`, { name: 'Ben' })).body.id;
  await openDeviceSocket(database.db, networkId);
  return { networkId, P, anna, ben };
}

const say = async (h: Home, personId: string, content: string, timestamp: string) =>
  (
    await api.post(`${h.P}/interactions`, {
      content,
      interaction_type: 'text',
      person_id: personId,
      timestamp,
    })
  ).body;

/** The summary the fake Gemini answers, in the response schema Mira sends. */
const summary = (fields: Partial<Record<string, unknown>> = {}) =>
  reply.json({
    title: 'Saturday plans',
    topic_summary: 'Anna and Ben plan to meet on Saturday',
    context_summary: 'Anna suggested meeting at the market on Saturday at ten; Ben agreed.',
    memories: [],
    memory_updates: [],
    ...fields,
  });

describe('episodic memories from conversations', () => {
  it('a conversation where two people agree to meet on Saturday yields a plan for both, with its time and a schedule action; a later one cancels it', async () => {
    // Prepare
    const h = await home();
    const first = await say(
      h,
      h.anna,
      'Shall we meet at the market on Saturday at ten?',
      '2026-12-01T09:00:00Z',
    );
    const second = await say(h, h.ben, 'Yes, Saturday at ten works for me.', '2026-12-01T09:00:30Z');
    fake.enqueue(
      summary({
        memories: [
          {
            memory_type: 'plan',
            canonical_text: 'Anna and Ben meet at the market on Saturday 5 December at 10:00',
            participant_person_ids: [h.anna, h.ben, '00000000-0000-4000-8000-000000000000'],
            action_kind: 'schedule',
            proposed_start_at: '2026-12-05T10:00:00',
            proposed_end_at: null,
            expires_at: '2026-12-05T23:59:00',
            confidence: 0.9,
            source_interaction_ids: [first.id, second.id, 'not-an-id'],
          },
        ],
      }),
    );

    // Act: ten minutes later the sweep finds the conversation quiet, ends it and summarises it.
    const report = await runMemorySweep(database.db, new Date('2026-12-01T09:10:30Z'));

    // Assess
    expect(report).toMatchObject({ ended: 1, summarized: 1 });
    const prompt = JSON.stringify(fake.generations()[0].body);
    expect(prompt).toContain(first.id);
    expect(prompt).toContain('Saturday at ten works for me');
    const memories = (await api.get(`${h.P}/memories`)).body;
    expect(memories).toHaveLength(1);
    const plan = memories[0];
    expect(plan).toMatchObject({
      network_id: h.networkId,
      source_conversation_id: first.conversation_id,
      memory_type: 'plan',
      status: 'proposed',
      action_kind: 'schedule',
      proposed_start_at: '2026-12-05T10:00:00.000Z',
      expires_at: '2026-12-05T23:59:00.000Z',
      confidence: 0.9,
      provenance: { source: 'conversation', interaction_ids: [first.id, second.id] },
    });
    // The id the model made up is dropped: only the network's people.
    expect(plan.participant_person_ids.sort()).toEqual([h.anna, h.ben].sort());
    expect(plan.transition_history).toEqual([
      expect.objectContaining({ from: null, to: 'proposed', source: 'extraction', interaction_id: first.id }),
    ]);
    const actions = (await api.get(`${h.P}/actions`)).body;
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      id: plan.action_id,
      action_type: 'schedule',
      details: plan.canonical_text,
      scheduled_time: '2026-12-05T10:00:00.000Z',
      status: 'pending',
      payload: { memory_id: plan.id },
    });
    const conversation = (await api.get(`${h.P}/conversations/${first.conversation_id}`)).body;
    expect(conversation).toMatchObject({ title: 'Saturday plans', is_active: false });
    expect(conversation.context_summary).toContain('market');
    expect(sent.map((e) => e.event)).toEqual(['conversation', 'conversation', 'episodic_memory', 'action']);
    expect(sent[2].data).toMatchObject({ id: plan.id, status: 'proposed' });

    // Act: the next day Ben says they are not going.
    const cancel = await say(h, h.ben, "We're not going on Saturday after all.", '2026-12-02T18:00:00Z');
    fake.enqueue(
      summary({
        title: 'Saturday is off',
        memory_updates: [
          {
            memory_id: plan.id,
            status: 'cancelled',
            reason: 'Ben said they are not going',
            interaction_id: cancel.id,
          },
        ],
      }),
    );
    sent.length = 0;
    await runMemorySweep(database.db, new Date('2026-12-02T18:10:00Z'));

    // Assess: cancelled with its reason and source, the action dismissed, both announced; no duplicates.
    expect(JSON.stringify(fake.generations()[1].body)).toContain(plan.id);
    const after = (await api.get(`${h.P}/memories`)).body;
    expect(after).toHaveLength(1);
    expect(after[0].status).toBe('cancelled');
    expect(after[0].transition_history.at(-1)).toMatchObject({
      from: 'proposed',
      to: 'cancelled',
      reason: 'Ben said they are not going',
      interaction_id: cancel.id,
      source: 'conversation',
    });
    const [dismissed] = (await api.get(`${h.P}/actions`)).body;
    expect(dismissed).toMatchObject({ id: plan.action_id, status: 'dismissed' });
    expect(sent.filter((e) => e.event === 'episodic_memory').map((e) => e.data.status)).toEqual([
      'cancelled',
    ]);
    expect(sent.filter((e) => e.event === 'action').map((e) => e.data.status)).toEqual(['dismissed']);
  });

  it('attributes a commitment to the person who made it, and a rolling summary of the same conversation updates it without a second memory or action', async () => {
    process.env.ROLLING_SUMMARY_EVERY = '2';
    gemini.configure();
    try {
      const h = await home();
      const a = await say(
        h,
        h.anna,
        'Ben, can you call the plumber tomorrow at nine?',
        '2026-12-01T09:00:00Z',
      );
      const b = await say(h, h.ben, 'Sure, I will call him at nine.', '2026-12-01T09:00:20Z');
      const commitment = (text: string) => ({
        memory_type: 'commitment',
        canonical_text: text,
        participant_person_ids: [h.ben],
        action_kind: 'remind',
        proposed_start_at: '2026-12-02T09:00:00',
        proposed_end_at: null,
        expires_at: null,
        confidence: 0.8,
        source_interaction_ids: [a.id, b.id],
      });
      fake.enqueue(summary({ memories: [commitment('Ben calls the plumber on 2 December at 09:00')] }));
      // Still open (one minute later): the rolling summary, after two utterances.
      await runMemorySweep(database.db, new Date('2026-12-01T09:01:00Z'));
      await say(h, h.anna, 'Thanks.', '2026-12-01T09:01:10Z');
      await say(h, h.ben, 'No problem.', '2026-12-01T09:01:20Z');
      fake.enqueue(summary({ memories: [commitment('Ben calls the plumber on 2 December at 09:00')] }));
      await runMemorySweep(database.db, new Date('2026-12-01T09:02:00Z'));

      expect(fake.generations()).toHaveLength(2);
      const memories = (await api.get(`${h.P}/memories?memory_type=commitment&person_id=${h.ben}`)).body;
      expect(memories).toHaveLength(1);
      expect(memories[0].participant_person_ids).toEqual([h.ben]);
      expect((await api.get(`${h.P}/memories?person_id=${h.anna}`)).body).toEqual([]);
      const actions = (await api.get(`${h.P}/actions`)).body;
      expect(actions).toHaveLength(1);
      expect(actions[0]).toMatchObject({ action_type: 'remind', person_id: h.ben });
      // Nothing new: no model call.
      await runMemorySweep(database.db, new Date('2026-12-01T09:03:00Z'));
      expect(fake.generations()).toHaveLength(2);
    } finally {
      delete process.env.ROLLING_SUMMARY_EVERY;
      gemini.configure();
    }
  });

  it('summarises a conversation as soon as an utterance ends it', async () => {
    process.env.MEMORY_SUMMARIZE_ON_END = 'true';
    gemini.configure();
    try {
      const h = await home();
      const said = await say(h, h.anna, 'I prefer tea to coffee.', '2026-12-01T09:00:00Z');
      fake.enqueue(
        summary({
          title: 'Tea',
          memories: [
            {
              memory_type: 'preference',
              canonical_text: 'Anna prefers tea to coffee',
              participant_person_ids: [h.anna],
              action_kind: null,
              proposed_start_at: null,
              proposed_end_at: null,
              expires_at: null,
              confidence: 0.7,
              source_interaction_ids: [said.id],
            },
          ],
        }),
      );
      await announceConversations(database.db, h.networkId, { endedId: said.conversation_id });
      const [memory] = (await api.get(`${h.P}/memories`)).body;
      expect(memory).toMatchObject({
        memory_type: 'preference',
        action_id: null,
        participant_person_ids: [h.anna],
      });
      expect((await api.get(`${h.P}/actions`)).body).toEqual([]);
    } finally {
      delete process.env.MEMORY_SUMMARIZE_ON_END;
      gemini.configure();
    }
  });

  it('PATCH confirms or rewords a memory and its action follows without a duplicate; DELETE removes it; both announced', async () => {
    const h = await home();
    const said = await say(h, h.anna, 'Dentist on Friday at three.', '2026-12-01T09:00:00Z');
    fake.enqueue(
      summary({
        memories: [
          {
            memory_type: 'plan',
            canonical_text: 'Anna goes to the dentist on Friday 4 December at 15:00',
            participant_person_ids: [h.anna],
            action_kind: null,
            proposed_start_at: '2026-12-04T15:00:00',
            proposed_end_at: null,
            expires_at: '2026-12-04T16:00:00',
            confidence: 0.95,
            source_interaction_ids: [said.id],
          },
        ],
      }),
    );
    await runMemorySweep(database.db, new Date('2026-12-01T09:10:00Z'));
    const [memory] = (await api.get(`${h.P}/memories`)).body;
    sent.length = 0;

    const confirmed = await api.patch(`${h.P}/memories/${memory.id}`, { status: 'confirmed' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.transition_history.at(-1)).toMatchObject({
      from: 'proposed',
      to: 'confirmed',
      source: 'user',
    });
    const reworded = await api.patch(`${h.P}/memories/${memory.id}`, {
      canonical_text: 'Dentist, Friday 15:00',
    });
    expect(reworded.body).toMatchObject({ canonical_text: 'Dentist, Friday 15:00', status: 'confirmed' });
    const actions = (await api.get(`${h.P}/actions`)).body;
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      details: 'Dentist, Friday 15:00',
      status: 'confirmed',
      action_type: 'schedule',
    });
    expect(sent.filter((e) => e.event === 'episodic_memory')).toHaveLength(2);

    expectError(await api.patch(`${h.P}/memories/${memory.id}`, {}), 422, 'VALIDATION_ERROR');
    expectError(
      await api.patch(`${h.P}/memories/${memory.id}`, { status: 'forgotten' }),
      422,
      'VALIDATION_ERROR',
    );

    // Its time passes: the sweep expires it and dismisses its action.
    sent.length = 0;
    const report = await runMemorySweep(database.db, new Date('2026-12-04T16:30:00Z'));
    expect(report.expired).toBe(1);
    expect((await api.get(`${h.P}/memories?status=expired`)).body.map((m: any) => m.id)).toEqual([memory.id]);
    expect((await api.get(`${h.P}/actions`)).body[0].status).toBe('dismissed');
    expect(sent.map((e) => e.event)).toEqual(['episodic_memory', 'action']);

    expect((await api.delete(`${h.P}/memories/${memory.id}`)).status).toBe(204);
    expectError(await api.get(`${h.P}/memories/${memory.id}`), 404, 'MEMORY_NOT_FOUND');
    expectError(await api.delete(`${h.P}/memories/${memory.id}`), 404, 'MEMORY_NOT_FOUND');
    expect((await api.get(`${h.P}/actions`)).body).toHaveLength(1);
  });

  it('keeps each network to its own memories', async () => {
    const mine = await home('Mine');
    const theirs = await home('Theirs');
    const said = await say(mine, mine.anna, 'The wifi password is on the fridge.', '2026-12-01T09:00:00Z');
    fake.enqueue(
      summary({
        memories: [
          {
            memory_type: 'fact',
            canonical_text: 'The wifi password is on the fridge',
            // Another network's person: not ours, dropped; the speaker is used instead.
            participant_person_ids: [theirs.anna],
            action_kind: null,
            proposed_start_at: null,
            proposed_end_at: null,
            expires_at: null,
            confidence: null,
            source_interaction_ids: [said.id],
          },
        ],
      }),
    );
    expect(await runMemorySweep(database.db, new Date('2026-12-01T09:10:00Z'))).toMatchObject({
      ended: 1,
      summarized: 1,
    });
    expect(fake.generations()).toHaveLength(1);
    const [memory] = (await api.get(`${mine.P}/memories`)).body;
    expect(memory.participant_person_ids).toEqual([mine.anna]);
    expect((await api.get(`${theirs.P}/memories`)).body).toEqual([]);
    expectError(await api.get(`${theirs.P}/memories/${memory.id}`), 404, 'MEMORY_NOT_FOUND');
    expectError(
      await api.patch(`${theirs.P}/memories/${memory.id}`, { status: 'cancelled' }),
      404,
      'MEMORY_NOT_FOUND',
    );
    expectError(await api.delete(`${theirs.P}/memories/${memory.id}`), 404, 'MEMORY_NOT_FOUND');
    expect((await api.get(`${mine.P}/memories`)).body[0].status).toBe('proposed');
  });
});
