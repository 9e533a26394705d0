import { beforeEach, describe, expect, it, vi } from 'vitest';
import { resetModelHealth, transcribeAndEnrich } from '../../shared/ai';
import { logger } from '../../shared/observability';
import { useTestDatabase } from '../helpers/db';
import { reply } from '../helpers/fake-gemini';
import { createTestApi } from '../helpers/http';
import { useFakeGemini } from '../helpers/use-fake-gemini';

useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();
const { fake, configure } = useFakeGemini();

const gemini = async () => (await api.get('/health/detailed')).body;

describe('Gemini in /health/detailed and the logs', () => {
  beforeEach(() => {
    fake.reset();
    resetModelHealth();
  });

  it('says not_configured without a key, configured with one, and never degrades on that alone', async () => {
    configure({ key: false });
    let health = await gemini();
    expect(health.checks.external_apis.gemini.status).toBe('not_configured');
    expect(health.status).toBe('healthy');

    configure();
    health = await gemini();
    expect(health.checks.external_apis.gemini.status).toBe('configured');
    expect(health.status).toBe('healthy');
  });

  it('degrades after a real failure, logging its status and class, and recovers on the next success', async () => {
    configure({ maxAttempts: 1 });
    const warn = vi.spyOn(logger, 'warn');
    fake.enqueue(reply.error(503, 'overloaded'));

    await expect(transcribeAndEnrich(new Float32Array(16000))).rejects.toMatchObject({
      code: 'TRANSCRIPTION_FAILED',
    });

    const health = await gemini();
    expect(health.status).toBe('degraded');
    expect(health.checks.external_apis.gemini).toMatchObject({
      status: 'degraded',
      detail: expect.stringContaining('HTTP 503'),
    });
    expect(warn).toHaveBeenCalledWith(
      'model call failed',
      expect.objectContaining({ http_status: 503, error_class: expect.any(String), max_attempts: 1 }),
    );
    warn.mockRestore();

    fake.enqueue(
      reply.json({ text: 'hello', language: 'en', entities: [], topics: ['greeting'], sentiment: 0 }),
    );
    await transcribeAndEnrich(new Float32Array(16000));
    const after = await gemini();
    expect(after.checks.external_apis.gemini.status).toBe('healthy');
    expect(after.status).toBe('healthy');
  });
});
