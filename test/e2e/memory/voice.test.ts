import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../../helpers/audio';
import { useTestDatabase } from '../../helpers/db';
import { expectError } from '../../helpers/expect-error';
import { reply } from '../../helpers/fake-gemini';
import { createTestApi, multipart } from '../../helpers/http';
import { memoryFrom, openDeviceSocket, useSentEvents } from '../../helpers/memory';
import { useFakeGemini } from '../../helpers/use-fake-gemini';

/** POST P/actions/voice as the 4.x app's streamCommand() calls it and reads it (lib/api/command.ts). */
const database = useTestDatabase();
const gemini = useFakeGemini();
const { fake } = gemini;
const api = createTestApi();

const sent = useSentEvents();
beforeAll(() => gemini.configure());
beforeEach(() => fake.reset());

const heard = (text: string) =>
  reply.json({ text, language: 'en-US', entities: [], topics: [], sentiment: 0 });

/** The app's parser: each `data:` line is one JSON event. */
const events = (text: string): any[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice(5).trim()));

async function home() {
  const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
  const P = `/api/v1/${networkId}`;
  await api.post(`${P}/service/clients`, { client_id: 'kitchen' });
  await openDeviceSocket(database.db, networkId);
  return { networkId, P };
}

const speak = (P: string, audio = fixture('voice-a-1.mp3')) =>
  api.post(
    `${P}/actions/voice`,
    multipart({
      audio: { filename: 'audio.wav', content: audio, mimetype: 'audio/wav' },
      client_id: 'kitchen',
    }),
  );

describe('POST P/actions/voice', () => {
  it('streams transcript, tool_call/tool_result for create_reminder, tokens and done; the reminder exists and the exchange is stored and published', async () => {
    // Prepare
    const { P } = await home();
    const answerText = 'OK, I will remind you to call Mum tomorrow at nine.';
    fake.enqueue(
      heard('Mira, remind me to call Mum tomorrow at nine'),
      reply.functionCalls({
        name: 'create_reminder',
        args: { text: 'Call Mum', scheduled_time: '2026-12-03T09:00:00' },
        id: 'call-1',
      }),
      reply.text(answerText),
    );

    // Act
    const res = await speak(P);

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const stream = events(res.text);
    expect(stream[0]).toEqual({ type: 'transcript', text: 'Mira, remind me to call Mum tomorrow at nine' });
    expect(stream.at(-1)).toEqual({ type: 'done' });
    const kinds = stream.map((e) => e.type);
    expect(kinds.indexOf('tool_call')).toBeLessThan(kinds.indexOf('tool_result'));
    expect(kinds.indexOf('tool_result')).toBeLessThan(kinds.indexOf('token'));
    expect(stream.find((e) => e.type === 'tool_call')).toEqual({
      type: 'tool_call',
      tool: 'create_reminder',
      status: 'running',
    });
    expect(stream.find((e) => e.type === 'tool_result')).toMatchObject({
      tool: 'create_reminder',
      ok: true,
      summary: expect.stringContaining('Call Mum'),
    });
    const tokens = stream.filter((e) => e.type === 'token');
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.map((t) => t.text).join('')).toBe(answerText);
    expect(kinds).not.toContain('error');

    // The model was streamed to, and saw the tool's result on its second turn.
    const [, first, second] = fake.generations();
    expect(first.action).toBe('streamGenerateContent');
    expect(first.body.contents[0].parts[0].text).toContain('remind me to call Mum tomorrow at nine');
    expect(second.body.contents.at(-1).parts[0].functionResponse).toMatchObject({
      id: 'call-1',
      name: 'create_reminder',
      response: { output: { text: 'Call Mum' } },
    });
    const [reminder] = (await api.get(`${P}/actions`)).body;
    expect(reminder).toMatchObject({
      action_type: 'remind',
      details: 'Call Mum',
      scheduled_time: '2026-12-03T09:00:00.000Z',
    });
    const stored = (await api.get(`${P}/interactions`)).body;
    expect(stored.map((i: any) => [i.interaction_type, i.text])).toEqual([
      ['system', answerText],
      ['audio', 'Mira, remind me to call Mum tomorrow at nine'],
    ]);
    expect(stored[0].conversation_id).toBe(stored[1].conversation_id);
    expect(reminder.interaction_id).toBe(stored[1].id);
  });

  /** Ana, enrolled as the app does it: two clean samples of her voice. */
  async function enrolAna(P: string): Promise<string> {
    const ana = (await api.post(`${P}/persons`, { name: 'Ana' })).body.id;
    for (const file of ['voice-c-1.mp3', 'voice-c-2.mp3'])
      expect(
        (
          await api.post(
            `${P}/persons/${ana}/voice`,
            multipart({ audio_file: { filename: file, content: fixture(file), mimetype: 'audio/mpeg' } }),
          )
        ).status,
      ).toBe(200);
    return ana;
  }

  it('forget removes the speaker’s last utterance, Mira’s reply and the memory drawn from it, keeps the command and others’ words, and announces each deletion', async () => {
    // Prepare: Ana is enrolled; she asks the time (her voice is recognised), then says a secret.
    const { P } = await home();
    const ana = await enrolAna(P);
    const ben = (await api.post(`${P}/persons`, { name: 'Ben' })).body.id;
    fake.enqueue(
      heard('Mira, what time is it?'),
      reply.functionCalls({ name: 'get_current_time' }),
      reply.text('It is noon.'),
    );
    await speak(P, fixture('voice-c-3.mp3'));
    const before = (await api.get(`${P}/interactions`)).body;
    const asked = before.find((i: any) => i.interaction_type === 'audio');
    const noon = before.find((i: any) => i.text === 'It is noon.');
    expect(asked.person_id).toBe(ana);
    expect(asked.metadata.speaker).toMatchObject({ outcome: 'matched' });
    const secret = (
      await api.post(`${P}/interactions`, {
        content: 'My bank PIN is 4321.',
        interaction_type: 'text',
        person_id: ana,
      })
    ).body;
    const bens = (
      await api.post(`${P}/interactions`, {
        content: 'I will cook tonight.',
        interaction_type: 'text',
        person_id: ben,
      })
    ).body;
    const memory = await memoryFrom(database.db, secret, 'The bank PIN is 4321', { personIds: [ana] });
    await memoryFrom(database.db, bens, 'Ben cooks tonight', { personIds: [ben] });
    sent.length = 0;

    // Act
    fake.enqueue(
      heard('Mira, forget what I just said'),
      reply.functionCalls({ name: 'forget' }),
      reply.text('Done, forgotten.'),
    );
    const stream = events((await speak(P, fixture('voice-c-3.mp3'))).text);

    // Assess
    expect(stream.find((e) => e.type === 'tool_result')).toMatchObject({
      tool: 'forget',
      ok: true,
      summary: 'Forgot 2 utterances and 1 memories',
    });
    const left = (await api.get(`${P}/interactions`)).body.map((i: any) => i.text);
    expect(left).toEqual(['Done, forgotten.', 'Mira, forget what I just said', 'I will cook tonight.']);
    expect((await api.get(`${P}/memories`)).body.map((m: any) => m.canonical_text)).toEqual([
      'Ben cooks tonight',
    ]);
    const deleted = sent.filter((e) => e.event === 'interaction_deleted').map((e) => e.data.id);
    expect(deleted.sort()).toEqual([secret.id, asked.id, noon.id].sort());
    expect(sent).toContainEqual({
      event: 'episodic_memory',
      data: expect.objectContaining({ id: memory.id, status: 'cancelled' }),
    });
    // The conversation's summary was written from the forgotten words: cleared, to be written again.
    const conversation = sent.find((e) => e.event === 'conversation')?.data;
    expect(conversation).toMatchObject({
      id: secret.conversation_id,
      topic_summary: null,
      context_summary: null,
    });
  });

  it('forget, when the speaker is not recognised, removes what was just said at the device that asked, and only there', async () => {
    const { P } = await home();
    await api.post(`${P}/service/clients`, { client_id: 'hall' });
    const bea = (await api.post(`${P}/persons`, { name: 'Bea' })).body.id;
    const said = async (content: string, extra: object) =>
      (await api.post(`${P}/interactions`, { content, interaction_type: 'text', ...extra })).body;
    const here = await said('The alarm code is 1234.', { client_id: 'kitchen' });
    await said('Dinner is at eight.', { client_id: 'hall' });
    await said('I am Bea and I spoke here.', { client_id: 'kitchen', person_id: bea });
    await memoryFrom(database.db, here, 'The alarm code is 1234');

    fake.enqueue(
      heard('Mira, forget what I just said'),
      reply.functionCalls({ name: 'forget' }),
      reply.text('Forgotten.'),
    );
    // A voice nobody enrolled: Mira cannot tell who it is.
    const stream = events((await speak(P, fixture('voice-a-1.mp3'))).text);

    expect(stream.find((e) => e.type === 'tool_result')).toMatchObject({
      tool: 'forget',
      ok: true,
      summary: 'Forgot 1 utterances and 1 memories',
    });
    const command = (await api.get(`${P}/interactions`)).body.find(
      (i: any) => i.interaction_type === 'audio',
    );
    expect(command.person_id).toBeNull();
    const left = (await api.get(`${P}/interactions`)).body.map((i: any) => i.text);
    expect(left).not.toContain('The alarm code is 1234.');
    expect(left).toEqual(
      expect.arrayContaining([
        'Dinner is at eight.',
        'I am Bea and I spoke here.',
        'Mira, forget what I just said',
      ]),
    );
    expect((await api.get(`${P}/memories`)).body).toEqual([]);
  });

  it('a tool that is not configured answers ok:false with its reason; send_email only drafts a contact action', async () => {
    const { P } = await home();
    fake.enqueue(
      heard('Mira, look up the weather and email Ben that I am late'),
      reply.functionCalls(
        { name: 'web_search', args: { query: 'weather' } },
        { name: 'send_email', args: { to: 'Ben', subject: 'Late', body: 'I am running late.' } },
      ),
      reply.text('I cannot search the web here; the email to Ben is a draft for you to confirm.'),
    );
    const stream = events((await speak(P)).text);
    const results = stream.filter((e) => e.type === 'tool_result');
    expect(results).toEqual([
      {
        type: 'tool_result',
        tool: 'web_search',
        ok: false,
        summary: 'web search is not enabled on this server',
      },
      {
        type: 'tool_result',
        tool: 'send_email',
        ok: true,
        summary: 'Draft saved for your confirmation; nothing was sent',
      },
    ]);
    const [draft] = (await api.get(`${P}/actions`)).body;
    expect(draft).toMatchObject({
      action_type: 'contact',
      status: 'pending',
      payload: { draft: true, to: 'Ben' },
    });
  });

  it('web_search answers from Google Search grounding when it is enabled', async () => {
    process.env.WEB_SEARCH_ENABLED = 'true';
    gemini.configure();
    try {
      const { P } = await home();
      fake.enqueue(
        heard('Mira, who won the match yesterday?'),
        reply.functionCalls({ name: 'web_search', args: { query: 'who won the match yesterday' } }),
        reply.grounded('The home team won 2-1.', [
          { uri: 'https://example.org/match', title: 'Match report' },
        ]),
        reply.text('The home team won two to one.'),
      );
      const stream = events((await speak(P)).text);
      expect(stream.find((e) => e.type === 'tool_result')).toEqual({
        type: 'tool_result',
        tool: 'web_search',
        ok: true,
        summary: '1 sources',
      });
      const search = fake.generations()[2];
      expect(search.action).toBe('generateContent');
      expect(search.body.tools).toEqual([{ googleSearch: {} }]);
      expect(fake.generations()[3].body.contents.at(-1).parts[0].functionResponse.response.output).toEqual({
        answer: 'The home team won 2-1.',
        sources: [{ title: 'Match report', uri: 'https://example.org/match' }],
      });
    } finally {
      delete process.env.WEB_SEARCH_ENABLED;
      gemini.configure();
    }
  });

  it('answers the usual JSON errors before streaming starts', async () => {
    const { P } = await home();
    expectError(
      await api.post(
        `${P}/actions/voice`,
        multipart({ audio: { filename: 'a.wav', content: fixture('voice-a-1.mp3') }, client_id: 'garage' }),
      ),
      404,
      'CLIENT_NOT_FOUND',
    );
    expectError(await speak(P, fixture('silence.flac')), 422, 'NO_SPEECH');
    gemini.configure({ key: false });
    try {
      expectError(await speak(P), 503, 'COMMAND_UNAVAILABLE');
    } finally {
      gemini.configure();
    }
    expect(fake.generations()).toHaveLength(0);
    expect((await api.get(`${P}/interactions`)).body).toEqual([]);
  });

  it('a model failure mid-stream is an error event, then done; the utterance stays stored', async () => {
    const { P } = await home();
    fake.enqueue(heard('Mira, tell me a joke'), reply.error(500), reply.error(500), reply.error(500));
    const stream = events((await speak(P)).text);
    expect(stream.map((e) => e.type)).toEqual(['transcript', 'error', 'done']);
    expect((await api.get(`${P}/interactions`)).body.map((i: any) => i.interaction_type)).toEqual([
      'system',
      'audio',
    ]);
  });
});
