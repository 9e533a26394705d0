import { beforeEach, describe, expect, it } from 'vitest';
import {
  extractAction,
  generationSettings,
  runCommand,
  streamCommand,
  transcribeAndEnrich,
} from '../../shared/ai';
import { reply } from '../helpers/fake-gemini';
import { useFakeGemini } from '../helpers/use-fake-gemini';

const gemini = useFakeGemini();
const { fake } = gemini;

const tone = () => Float32Array.from({ length: 16_000 }, (_, i) => 0.3 * Math.sin(i / 5));
const enrichment = { text: 'Hello', language: 'en', entities: [], topics: [], sentiment: 0 };

beforeEach(() => fake.reset());

/** The generation config of the first request the fake received. */
const sentConfig = () => {
  expect(fake.requests.length).toBeGreaterThan(0);
  return fake.requests[0].body.generationConfig as Record<string, unknown>;
};

describe('thinking level per call (Gemini 3 models)', () => {
  it('transcribes with minimal thinking and without a temperature', async () => {
    gemini.configure({ model: 'gemini-3.8-flash' });
    fake.enqueue(reply.json(enrichment));
    await transcribeAndEnrich(tone());
    const config = sentConfig();
    expect(config.thinkingConfig).toEqual({ thinkingLevel: 'MINIMAL' });
    expect(config).not.toHaveProperty('temperature');
  });

  it('answers a command with low thinking', async () => {
    gemini.configure({ model: 'gemini-3.8-flash' });
    fake.enqueue(reply.text('It is nine.'));
    await runCommand({ utterance: 'What time is it?', tools: [] });
    expect(sentConfig().thinkingConfig).toEqual({ thinkingLevel: 'LOW' });
  });

  it('streams a voice command with low thinking, as the typed command', async () => {
    gemini.configure({ model: 'gemini-3.8-flash' });
    fake.enqueue(reply.text('It is nine.'));
    for await (const _ of streamCommand({ utterance: 'What time is it?', tools: [] })) void _;
    expect(fake.requests[0].action).toBe('streamGenerateContent');
    expect(sentConfig().thinkingConfig).toEqual({ thinkingLevel: 'LOW' });
  });

  it('extracts an action with low thinking', async () => {
    gemini.configure({ model: 'gemini-3.8-flash' });
    fake.enqueue(reply.json({ intent: 'none' }));
    await extractAction({ text: 'Nice weather', timeZone: 'UTC' }).catch(() => undefined);
    const config = sentConfig();
    expect(config.thinkingConfig).toEqual({ thinkingLevel: 'LOW' });
    expect(config).not.toHaveProperty('temperature');
  });

  it('keeps temperature 0 and no thinking level for older models', async () => {
    gemini.configure({ model: 'gemini-2.5-flash' });
    fake.enqueue(reply.json(enrichment));
    await transcribeAndEnrich(tone());
    const config = sentConfig();
    expect(config.temperature).toBe(0);
    expect(config).not.toHaveProperty('thinkingConfig');
  });

  it('offers the levels a Pro model knows, and more thinking for memories and summaries', () => {
    expect(generationSettings('gemini-3.1-pro-preview', 'transcription')).toEqual({
      thinkingConfig: { thinkingLevel: 'LOW' },
    });
    expect(generationSettings('gemini-3.8-flash', 'memory_extraction')).toEqual({
      thinkingConfig: { thinkingLevel: 'HIGH' },
    });
    expect(generationSettings('gemini-3.8-flash', 'summary').thinkingConfig?.thinkingLevel).toBe('HIGH');
  });
});
