import { afterAll, beforeAll } from 'vitest';
import { resetGemini } from '../../shared/ai';
import { resetConfig } from '../../shared/config';
import { startFakeGemini, type FakeGemini } from './fake-gemini';

// Vitest wiring in a file of its own: fake-gemini.ts is also used by the benches, which run outside Vitest.
export interface GeminiSettings {
  /** Set GEMINI_API_KEY (default) or leave Gemini unconfigured. */
  key?: boolean;
  maxAttempts?: number;
  model?: string;
}

export interface FakeGeminiSetup {
  /** The fake server, started before the file's tests (calls made before beforeAll fail). */
  fake: FakeGemini;
  /**
   * Points the app at the fake with these settings (every call starts from the defaults: key set,
   * model `gemini-test-flash`, 3 attempts 10 ms apart, 5 s timeout) and drops the cached config and client.
   */
  configure(settings?: GeminiSettings): void;
}

/**
 * Vitest wiring for tests of code that calls Gemini: starts the fake on loopback before the file's tests,
 * and afterwards closes it and restores the environment, configuration and Gemini client as they were.
 */
export function useFakeGemini(): FakeGeminiSetup {
  let started: FakeGemini | undefined;
  const savedEnv = { ...process.env };
  // A stand-in that forwards to the fake once it runs, so test files can hold `fake` at the top level.
  const fake = new Proxy({} as FakeGemini, {
    get: (_target, property) => {
      if (!started) throw new Error('useFakeGemini: the fake starts in beforeAll');
      return Reflect.get(started, property);
    },
  });

  beforeAll(async () => {
    started = await startFakeGemini();
  });

  afterAll(async () => {
    await started?.close();
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
    resetConfig();
    resetGemini();
  });

  return {
    fake,
    configure: ({ key = true, maxAttempts = 3, model = 'gemini-test-flash' } = {}) => {
      if (key) process.env.GEMINI_API_KEY = 'test-key';
      else delete process.env.GEMINI_API_KEY;
      process.env.GEMINI_BASE_URL = fake.url;
      process.env.GEMINI_MODEL = model;
      process.env.GEMINI_RETRY_DELAY_MS = '10';
      process.env.GEMINI_TIMEOUT_MS = '5000';
      process.env.GEMINI_MAX_ATTEMPTS = String(maxAttempts);
      resetConfig();
      resetGemini();
    },
  };
}
