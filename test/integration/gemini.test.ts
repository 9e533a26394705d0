import { beforeEach, describe, expect, it } from 'vitest';
import {
  CommandFailedError,
  CommandUnavailableError,
  geminiSettings,
  isWav,
  networkTools,
  runCommand,
  transcribeAndEnrich,
  TranscriptionFailedError,
  TranscriptionUnavailableError,
  type Tool,
} from '../../shared/ai';
import { createNetwork, upsertClient } from '../../shared/db/repositories/networks';
import { useTestDatabase } from '../helpers/db';
import { reply } from '../helpers/fake-gemini';
import { useFakeGemini } from '../helpers/use-fake-gemini';

const database = useTestDatabase();
const gemini = useFakeGemini();
const { fake } = gemini;

/** One second of a 440 Hz tone at 16 kHz: stands in for speech, the model here is fake. */
const tone = () =>
  Float32Array.from({ length: 16_000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16_000));

const enrichment = {
  text: 'Remind me to call Anna tomorrow',
  language: 'en-us',
  entities: [{ text: 'Anna', label: 'PERSON' }],
  topics: ['reminders'],
  sentiment: 0.2,
};

beforeEach(() => {
  fake.reset();
  gemini.configure();
});

describe('transcribeAndEnrich', () => {
  it('sends the audio inline with a response schema in one call and returns the validated enrichment', async () => {
    fake.enqueue(reply.json(enrichment));

    const result = await transcribeAndEnrich(tone(), { languageHint: 'en' });

    expect(result).toEqual({ ...enrichment, language: 'en-US' });
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.model).toBe('gemini-test-flash');
    expect(request.action).toBe('generateContent');
    expect(request.headers['x-goog-api-key']).toBe('test-key');
    const parts = request.body.contents[0].parts;
    const audio = parts.find((p: any) => p.inlineData).inlineData;
    expect(audio.mimeType).toBe('audio/wav');
    const wav = Buffer.from(audio.data, 'base64');
    expect(isWav(wav)).toBe(true);
    expect(wav.length).toBe(44 + 16_000 * 2);
    expect(wav.readUInt32LE(24)).toBe(16_000);
    const generation = request.body.generationConfig;
    expect(generation.responseMimeType).toBe('application/json');
    expect(generation.responseJsonSchema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['text', 'language', 'entities', 'topics', 'sentiment']),
    });
    expect(generation.responseJsonSchema.$schema).toBeUndefined();
    expect(JSON.stringify(request.body)).toContain('probably speaks en');
  });

  it('passes WAV bytes through unchanged', async () => {
    fake.enqueue(reply.json(enrichment));
    const { encodeWav } = await import('../../shared/ai/wav');
    const wav = encodeWav(tone());

    await transcribeAndEnrich(wav);

    const audio = fake.requests[0].body.contents[0].parts.find((p: any) => p.inlineData).inlineData;
    expect(Buffer.from(audio.data, 'base64').equals(wav)).toBe(true);
  });

  it('asks once more after a malformed answer and accepts a good second one', async () => {
    fake.enqueue(reply.text('not json at all'), reply.json(enrichment));

    const result = await transcribeAndEnrich(tone());

    expect(result.text).toBe(enrichment.text);
    expect(fake.requests).toHaveLength(2);
  });

  it('fails with 502 TRANSCRIPTION_FAILED after two malformed answers', async () => {
    fake.enqueue(reply.json({ ...enrichment, sentiment: 3 }), reply.json({ text: 'missing fields' }));

    const failure = transcribeAndEnrich(tone());

    await expect(failure).rejects.toBeInstanceOf(TranscriptionFailedError);
    await expect(failure).rejects.toMatchObject({ status: 502, code: 'TRANSCRIPTION_FAILED' });
    expect(fake.requests).toHaveLength(2);
  });

  it('refuses an answer whose language is not a BCP-47 tag', async () => {
    fake.enqueue(reply.json({ ...enrichment, language: 'not a language!' }), reply.json({ ...enrichment }));

    const result = await transcribeAndEnrich(tone());

    expect(result.language).toBe('en-US');
    expect(fake.requests).toHaveLength(2);
  });

  it('retries 429 and 500 with backoff, then succeeds', async () => {
    fake.enqueue(reply.error(429, 'slow down'), reply.error(500, 'boom'), reply.json(enrichment));

    const result = await transcribeAndEnrich(tone());

    expect(result.text).toBe(enrichment.text);
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up after the bounded attempts on persistent 5xx with 502, and on persistent 429 with 503', async () => {
    fake.respondWith(() => reply.error(503, 'down'));
    await expect(transcribeAndEnrich(tone())).rejects.toMatchObject({
      status: 502,
      code: 'TRANSCRIPTION_FAILED',
    });
    expect(fake.requests).toHaveLength(3);

    fake.reset();
    fake.respondWith(() => reply.error(429, 'quota'));
    const limited = await transcribeAndEnrich(tone()).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(TranscriptionUnavailableError);
    expect(limited).toMatchObject({ status: 503, headers: { 'Retry-After': '10' } });
  });

  it('does not retry a 400', async () => {
    fake.enqueue(reply.error(400, 'bad request'));

    await expect(transcribeAndEnrich(tone())).rejects.toMatchObject({ status: 502 });
    expect(fake.requests).toHaveLength(1);
  });

  it('times out a model that does not answer', async () => {
    fake.respondWith(() => reply.hang());
    const settings = { ...geminiSettings(), timeoutMs: 200, maxAttempts: 2 };
    const started = Date.now();

    const failure = await transcribeAndEnrich(tone(), { settings }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TranscriptionFailedError);
    expect((failure as Error).message).toMatch(/in time/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fake.requests).toHaveLength(2);
  });

  it('answers 503 TRANSCRIPTION_UNAVAILABLE without a key, and makes no call', async () => {
    gemini.configure({ key: false });

    const failure = transcribeAndEnrich(tone());

    await expect(failure).rejects.toBeInstanceOf(TranscriptionUnavailableError);
    await expect(failure).rejects.toMatchObject({ status: 503, code: 'TRANSCRIPTION_UNAVAILABLE' });
    await expect(runCommand({ utterance: 'hi', tools: [] })).rejects.toBeInstanceOf(CommandUnavailableError);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('runCommand', () => {
  it('answers a plain question without tools', async () => {
    fake.enqueue(reply.text('Hello there.'));

    const result = await runCommand({
      utterance: 'say hello',
      context: [{ speaker: 'Anna', text: 'we were talking about lunch' }],
      tools: [],
    });

    expect(result).toEqual({ text: 'Hello there.', toolCalls: [], iterations: 1 });
    const body = fake.requests[0].body;
    expect(body.systemInstruction.parts[0].text).toMatch(/Mira/);
    expect(body.contents[0].parts[0].text).toContain('Anna: we were talking about lunch');
    expect(body.contents[0].parts[0].text).toContain('say hello');
  });

  it('runs tool calls against the database and returns the final text', async () => {
    const { db } = database;
    const network = await createNetwork(db, 'Home', { timezone: 'Europe/Berlin' });
    await upsertClient(db, network.id, 'kitchen');
    await db.insertInto('persons').values({ network_id: network.id, name: 'Owner', index: 1 }).execute();
    fake.enqueue(
      reply.functionCalls(
        { name: 'get_current_time', id: 'c1' },
        { name: 'list_clients_and_persons', id: 'c2' },
      ),
      reply.functionCalls({
        name: 'create_reminder',
        args: { text: 'call Anna', scheduled_time: '2026-12-01T17:00:00' },
      }),
      reply.functionCalls({ name: 'list_pending_actions' }),
      reply.text('I will remind you to call Anna at 5 pm.'),
    );

    const result = await runCommand({
      utterance: 'remind me to call Anna at 5 pm',
      tools: networkTools(db, network.id),
    });

    expect(result.text).toBe('I will remind you to call Anna at 5 pm.');
    expect(result.iterations).toBe(4);
    expect(result.toolCalls.map((c) => c.name)).toEqual([
      'get_current_time',
      'list_clients_and_persons',
      'create_reminder',
      'list_pending_actions',
    ]);
    expect(result.toolCalls[0].result).toMatchObject({
      time_zone: 'Europe/Berlin',
      local_time: expect.stringMatching(/\+0[12]:00$/),
    });
    expect(result.toolCalls[1].result).toMatchObject({
      clients: [{ client_id: 'kitchen', enabled: true }],
      persons: [{ name: 'Owner', index: 1, is_owner: true }],
    });
    const actions = await db.selectFrom('actions').selectAll().where('network_id', '=', network.id).execute();
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      action_type: 'remind',
      status: 'pending',
      details: 'call Anna',
      payload: { text: 'call Anna', source: 'voice_command' },
    });
    // 17:00 in Berlin in winter is 16:00 UTC.
    expect(new Date(actions[0].scheduled_time!).toISOString()).toBe('2026-12-01T16:00:00.000Z');
    expect(result.toolCalls[3].result).toEqual([expect.objectContaining({ id: actions[0].id })]);

    // Declarations went out, and each result came back to the model with the call's id.
    const first = fake.requests[0].body;
    expect(first.tools[0].functionDeclarations.map((d: any) => d.name)).toEqual([
      'get_current_time',
      'list_clients_and_persons',
      'list_pending_actions',
      'create_reminder',
    ]);
    const second = fake.requests[1].body.contents;
    expect(second).toHaveLength(3);
    expect(second[1].role).toBe('model');
    expect(second[2].parts.map((p: any) => [p.functionResponse.name, p.functionResponse.id])).toEqual([
      ['get_current_time', 'c1'],
      ['list_clients_and_persons', 'c2'],
    ]);
  });

  it('reports a failing or unknown tool to the model instead of failing the command', async () => {
    const broken: Tool = {
      name: 'broken',
      description: 'always fails',
      parameters: { type: 'object', properties: {} },
      execute: async () => {
        throw new Error('disk on fire');
      },
    };
    fake.enqueue(
      reply.functionCalls({ name: 'broken' }, { name: 'missing' }),
      reply.text('Sorry, that failed.'),
    );

    const result = await runCommand({ utterance: 'do it', tools: [broken] });

    expect(result.text).toBe('Sorry, that failed.');
    const responses = fake.requests[1].body.contents[2].parts.map((p: any) => p.functionResponse.response);
    expect(responses).toEqual([{ error: 'disk on fire' }, { error: 'Unknown tool: missing' }]);
  });

  it('refuses a reminder the model times badly, and the model hears why', async () => {
    const { db } = database;
    const network = await createNetwork(db, 'Home');
    fake.enqueue(
      reply.functionCalls({ name: 'create_reminder', args: { text: 'x', scheduled_time: 'tomorrow' } }),
      reply.text('When exactly?'),
    );

    const result = await runCommand({ utterance: 'remind me', tools: networkTools(db, network.id) });

    expect(result.toolCalls[0].error).toMatch(/ISO 8601/);
    expect(await db.selectFrom('actions').selectAll().execute()).toHaveLength(0);
  });

  it('stops a model that keeps calling tools after the bound', async () => {
    fake.respondWith(() => reply.functionCalls({ name: 'get_current_time' }));
    const { db } = database;
    const network = await createNetwork(db, 'Home');

    const failure = runCommand({ utterance: 'loop', tools: networkTools(db, network.id), maxIterations: 3 });

    await expect(failure).rejects.toBeInstanceOf(CommandFailedError);
    await expect(failure).rejects.toMatchObject({ status: 502, code: 'COMMAND_FAILED' });
    expect(fake.requests).toHaveLength(3);
  });
});
