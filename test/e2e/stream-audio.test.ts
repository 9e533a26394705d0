import { beforeEach, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../shared/audio';
import { encodeWav, fixture, whiteNoise } from '../helpers/audio';
import { useTestDatabase } from '../helpers/db';
import { createTestApi, multipart } from '../helpers/http';

useTestDatabase();
const api = createTestApi();

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({
    detail: expect.any(String),
    error_code: code,
    timestamp: expect.any(String),
  });
};

/** The same speech with white noise mixed in, as a far-away or noisy device would hear it. */
async function noisyCopy(name: string, noiseRms: number): Promise<Buffer> {
  const { samples } = await decodeAudio(fixture(name));
  const noise = whiteNoise(samples.length, noiseRms, 7);
  return encodeWav([samples.map((v, i) => v + noise[i])], { rate: 16_000 });
}

const sample = (content: Buffer, filename: string, extra: Record<string, string> = {}) =>
  multipart({ audio_data: { filename, content }, ...extra });

describe('POST streams/{stream_id}/audio', () => {
  let P: string;

  beforeEach(async () => {
    const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    for (const client of ['kitchen', 'hallway']) await api.post(`${P}/service/client/register/${client}`);
  });

  it("answers the sample's quality metrics and folds them into the stream", async () => {
    const res = await api.post(
      `${P}/streams/kitchen/audio`,
      sample(fixture('voice-a-1.mp3'), 'a.mp3', {
        timestamp: '2026-01-01T09:00:00.000Z',
        metadata: '{"room":"kitchen"}',
      }),
    );

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      client_id: 'kitchen',
      timestamp: '2026-01-01T09:00:00.000Z',
      sample: { format: 'mp3', snr: expect.any(Number), speech_ratio: expect.any(Number) },
      sample_count: 1,
      is_best_stream: true,
      metadata: { room: 'kitchen' },
    });
    expect(res.body.sample.duration_s).toBeGreaterThan(1);
    expect(res.body.sample.score).toBeGreaterThan(0);
    const info = await api.get(`${P}/streams/kitchen/info`);
    expect(info.body.quality_metrics.sample_count).toBe(1);
    expect(info.body.current_score).toBe(res.body.current_score);
  });

  it('makes the device with the clean sample the best stream', async () => {
    const noisy = await api.post(
      `${P}/streams/hallway/audio`,
      sample(await noisyCopy('voice-a-1.mp3', 0.05), 'noisy.wav'),
    );
    const clean = await api.post(`${P}/streams/kitchen/audio`, sample(fixture('voice-a-1.mp3'), 'clean.mp3'));

    expect(noisy.status).toBe(200);
    expect(clean.status).toBe(200);
    expect(clean.body.sample.snr).toBeGreaterThan(noisy.body.sample.snr);
    expect(clean.body.sample.score).toBeGreaterThan(noisy.body.sample.score);
    expect(clean.body.is_best_stream).toBe(true);
    const best = await api.get(`${P}/streams/best`);
    expect(best.body.client_id).toBe('kitchen');
  });

  it('refuses audio it cannot decode and an empty file, and records nothing', async () => {
    const garbage = await api.post(
      `${P}/streams/kitchen/audio`,
      sample(Buffer.from('definitely not audio'), 'x.bin'),
    );
    const truncated = await api.post(
      `${P}/streams/kitchen/audio`,
      sample(fixture('speech-8k-u8.wav').subarray(0, 30), 'cut.wav'),
    );

    for (const res of [garbage, truncated]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.error_code).toEqual(expect.any(String));
    }
    const info = await api.get(`${P}/streams/kitchen/info`);
    expect(info.body.quality_metrics.sample_count).toBe(0);
  });

  it('refuses a client that is not registered in the network, a missing file and bad metadata', async () => {
    const unknown = await api.post(`${P}/streams/garage/audio`, sample(fixture('voice-a-1.mp3'), 'a.mp3'));
    const noFile = await api.post(
      `${P}/streams/kitchen/audio`,
      multipart({ timestamp: '2026-01-01T09:00:00Z' }),
    );
    const badMetadata = await api.post(
      `${P}/streams/kitchen/audio`,
      sample(fixture('voice-a-1.mp3'), 'a.mp3', { metadata: 'not json' }),
    );

    expectError(unknown, 404, 'CLIENT_NOT_FOUND');
    expectError(noFile, 422, 'VALIDATION_ERROR');
    expectError(badMetadata, 422, 'VALIDATION_ERROR');
  });
});
