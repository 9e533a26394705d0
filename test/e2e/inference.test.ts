import { beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { reply } from '../helpers/fake-gemini';
import { createTestApi } from '../helpers/http';
import { useFakeGemini } from '../helpers/use-fake-gemini';

const database = useTestDatabase();
const api = createTestApi();
const gemini = useFakeGemini();
const { fake } = gemini;
const NO_INTENT = { message: 'Intent not recognized, no inference performed.' };

const reminder = {
  action_type: 'remind',
  title: 'Call Anna',
  scheduled_time: '2026-01-02T09:00:00',
  contact: 'Anna',
};

describe('POST interactions/{interaction_id}/inference', () => {
  let networkId: string;
  let P: string;
  let alice: { id: string };

  const say = async (content: string, personId = alice.id) =>
    (await api.post(`${P}/interactions`, { content, interaction_type: 'text', person_id: personId })).body;

  beforeEach(async () => {
    fake.reset();
    gemini.configure();
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    alice = (await api.post(`${P}/persons`, { name: 'Alice' })).body;
  });

  it('stores the reminder the model finds, linked to the interaction, and lists it as pending', async () => {
    await database.db
      .updateTable('networks')
      .set({ settings: JSON.stringify({ timezone: 'Europe/Berlin' }) })
      .where('id', '=', networkId)
      .execute();
    await api.post(`${P}/service/client/register/kitchen`);
    await say('My sister Anna phoned this morning');
    const interaction = await say('Remind me to call her back tomorrow at nine');
    fake.enqueue(reply.json(reminder));

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`, { client_id: 'kitchen' });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      network_id: networkId,
      person_id: alice.id,
      interaction_id: interaction.id,
      conversation_id: interaction.conversation_id,
      action_type: 'remind',
      status: 'pending',
      // 09:00 in Berlin in winter.
      scheduled_time: '2026-01-02T08:00:00.000Z',
      details: 'Call Anna',
      payload: {
        title: 'Call Anna',
        contact: 'Anna',
        source_text: 'Remind me to call her back tomorrow at nine',
        client_id: 'kitchen',
      },
    });
    const pending = await api.get(`${P}/actions?status=pending`);
    expect(pending.body.map((a: any) => a.id)).toEqual([res.body.id]);
    expect(fake.requests).toHaveLength(1);
    const request = fake.requests[0].body;
    const prompt = request.contents[0].parts[0].text as string;
    expect(prompt).toContain('Alice: My sister Anna phoned this morning');
    expect(prompt).toContain('Utterance from Alice: Remind me to call her back tomorrow at nine');
    expect(prompt).toContain('Europe/Berlin');
    expect(request.generationConfig.responseMimeType).toBe('application/json');
    expect(request.generationConfig.responseJsonSchema.properties.action_type.enum).toEqual([
      'remind',
      'schedule',
      'contact',
      'none',
    ]);
  });

  it('answers the stored action when asked again, without a second model call or a second action', async () => {
    const interaction = await say('Remind me to call Anna tomorrow at nine');
    fake.enqueue(reply.json(reminder));
    const first = await api.post(`${P}/interactions/${interaction.id}/inference`);

    const again = await api.post(`${P}/interactions/${interaction.id}/inference`);

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(fake.requests).toHaveLength(1);
    expect((await api.get(`${P}/actions`)).body).toHaveLength(1);
  });

  it('stores one action when the same interaction is inferred twice at once', async () => {
    const interaction = await say('Remind me to call Anna tomorrow at nine');
    fake.enqueue(reply.json(reminder));
    fake.enqueue(reply.json(reminder));

    const answers = await Promise.all([
      api.post(`${P}/interactions/${interaction.id}/inference`),
      api.post(`${P}/interactions/${interaction.id}/inference`),
    ]);

    const actions = (await api.get(`${P}/actions`)).body;
    expect(actions).toHaveLength(1);
    expect(answers.map((a) => a.body.id)).toEqual([actions[0].id, actions[0].id]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 201]);
  });

  it('answers that no intent was recognised when the model finds no action, and stores nothing', async () => {
    const interaction = await say('What a lovely day');
    fake.enqueue(reply.json({ action_type: 'none', title: '', scheduled_time: null, contact: null }));

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual(NO_INTENT);
    expect((await api.get(`${P}/actions`)).body).toEqual([]);
  });

  it('stores a contact action without a time', async () => {
    const interaction = await say('I need to email the plumber');
    fake.enqueue(
      reply.json({
        action_type: 'contact',
        title: 'Email the plumber',
        scheduled_time: null,
        contact: 'plumber',
      }),
    );

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`, {});

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      action_type: 'contact',
      scheduled_time: null,
      details: 'Email the plumber',
      payload: { contact: 'plumber' },
    });
  });

  it('asks again after one malformed answer', async () => {
    const interaction = await say('Put the dentist on Friday at 3 pm in the calendar');
    fake.enqueue(
      reply.text('not json'),
      reply.json({
        action_type: 'schedule',
        title: 'Dentist',
        scheduled_time: '2026-01-09T15:00:00Z',
        contact: null,
      }),
    );

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`);

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ action_type: 'schedule', scheduled_time: '2026-01-09T15:00:00.000Z' });
    expect(fake.requests).toHaveLength(2);
  });

  it('answers 502 and stores nothing after two malformed answers', async () => {
    const interaction = await say('Remind me to water the plants');
    fake.enqueue(reply.json({ action_type: 'remind', title: '' }), reply.json({ action_type: 'teleport' }));

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`);

    expectError(res, 502, 'INFERENCE_FAILED');
    expect((await api.get(`${P}/actions`)).body).toEqual([]);
  });

  it('answers 502 when the model keeps failing', async () => {
    gemini.configure({ maxAttempts: 2 });
    const interaction = await say('Remind me to water the plants');
    fake.respondWith(() => reply.error(500, 'boom'));

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`);

    expectError(res, 502, 'INFERENCE_FAILED');
    expect(fake.requests).toHaveLength(2);
  });

  it('answers 503 without a Gemini key', async () => {
    gemini.configure({ key: false });
    const interaction = await say('Remind me to water the plants');

    const res = await api.post(`${P}/interactions/${interaction.id}/inference`);

    expectError(res, 503, 'INFERENCE_UNAVAILABLE');
    expect(fake.requests).toHaveLength(0);
  });

  it("answers 404 for another network's interaction and for an unregistered client", async () => {
    const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
    const foreign = (
      await api.post(`/api/v1/${other}/interactions`, { content: 'Remind me', interaction_type: 'text' })
    ).body;
    const own = await say('Remind me to water the plants');

    const wrongNetwork = await api.post(`${P}/interactions/${foreign.id}/inference`);
    const wrongClient = await api.post(`${P}/interactions/${own.id}/inference`, { client_id: 'garage' });

    expectError(wrongNetwork, 404, 'INTERACTION_NOT_FOUND');
    expectError(wrongClient, 404, 'CLIENT_NOT_FOUND');
    expect(fake.requests).toHaveLength(0);
  });
});
