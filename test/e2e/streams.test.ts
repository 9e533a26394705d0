import { beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { upsertStreamQuality } from '../../shared/db/repositories/streams';
import { useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';
import { expectError } from '../helpers/expect-error';

const database = useTestDatabase();
const api = createTestApi();

const clean = { snr: 30, speechClarity: 0.9, volumeLevel: 0.1, noiseLevel: 0.003, speechRatio: 0.7 };
const noisy = { snr: 6, speechClarity: 0.4, volumeLevel: 0.02, noiseLevel: 0.01, speechRatio: 0.3 };

describe('streams context', () => {
  let networkId: string;
  let P: string;

  beforeEach(async () => {
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
    for (const client of ['kitchen', 'desktop-1']) await api.post(`${P}/service/client/register/${client}`);
  });

  it('has no best stream before any measurement', async () => {
    const res = await api.get(`${P}/streams/best`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      best_stream: null,
      stream_id: null,
      client_id: null,
      quality_score: null,
      timestamp: expect.any(String),
    });
    expect((await api.get(`${P}/streams/scores`)).body).toEqual({
      active_streams: 0,
      stream_scores: {},
      current_best: null,
    });
  });

  it('names the client with the best measured quality, the same for every reader', async () => {
    await upsertStreamQuality(database.db, { networkId, clientId: 'kitchen', sample: noisy });
    await upsertStreamQuality(database.db, { networkId, clientId: 'desktop-1', sample: clean });
    const best = (await api.get(`${P}/streams/best`)).body;
    expect(best).toMatchObject({
      best_stream: { client_id: 'desktop-1', score: expect.any(Number) },
      stream_id: 'desktop-1',
      client_id: 'desktop-1',
    });
    expect(best.quality_score).toBe(best.best_stream.score);
    const scores = (await api.get(`/api/v2/${networkId}/streams/scores`)).body;
    expect(scores.active_streams).toBe(2);
    expect(scores.current_best).toBe('desktop-1');
    expect(scores.stream_scores['desktop-1']).toBeGreaterThan(scores.stream_scores.kitchen);
  });

  it('describes one stream with its metrics and whether it is the best', async () => {
    await upsertStreamQuality(database.db, { networkId, clientId: 'kitchen', sample: clean });
    const res = await api.get(`${P}/streams/kitchen/info`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      client_id: 'kitchen',
      quality_metrics: {
        snr: 30,
        speech_clarity: 0.9,
        volume_level: 0.1,
        noise_level: 0.003,
        speech_ratio: 0.7,
        location: null,
        rssi: null,
        sample_count: 1,
      },
      current_score: expect.any(Number),
      is_best_stream: true,
      last_update: expect.any(String),
    });
    const idle = (await api.get(`${P}/streams/desktop-1/info`)).body;
    expect(idle).toMatchObject({ current_score: 0, is_best_stream: false, last_update: null });
  });

  it('records RSSI and location from the phone, and they move the score', async () => {
    await upsertStreamQuality(database.db, { networkId, clientId: 'kitchen', sample: clean });
    await upsertStreamQuality(database.db, { networkId, clientId: 'desktop-1', sample: clean });
    const rssi = await api.post(`${P}/streams/phone/rssi`, { target_client_id: 'kitchen', rssi: -35 });
    expect(rssi.status).toBe(200);
    expect(rssi.body).toEqual({ message: expect.any(String), rssi: -35 });
    const legacy = await api.post(`${P}/streams/phone/rssi`, { client_id: 'desktop-1', rssi: -95 });
    expect(legacy.status).toBe(200);
    expect((await api.get(`${P}/streams/best`)).body.client_id).toBe('kitchen');

    const location = { latitude: 52.52, longitude: 13.405, accuracy: 4 };
    const res = await api.post(`${P}/streams/phone/location`, { client_id: 'desktop-1', location });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: expect.any(String), location });
    const info = (await api.get(`${P}/streams/desktop-1/info`)).body;
    expect(info.quality_metrics).toMatchObject({ location, rssi: -95, sample_count: 1 });
  });

  it('leaves stale streams out of the competition', async () => {
    await upsertStreamQuality(database.db, { networkId, clientId: 'desktop-1', sample: clean });
    await upsertStreamQuality(database.db, { networkId, clientId: 'kitchen', sample: noisy });
    await database.db
      .updateTable('stream_quality')
      .set({ last_update: sql<Date>`now() - interval '10 minutes'` })
      .where('client_id', '=', 'desktop-1')
      .execute();
    expect((await api.get(`${P}/streams/best`)).body.client_id).toBe('kitchen');
    expect((await api.get(`${P}/streams/scores`)).body.active_streams).toBe(1);
  });

  it('loses no update when many arrive at once', async () => {
    await Promise.all(
      Array.from({ length: 8 }, () =>
        upsertStreamQuality(database.db, { networkId, clientId: 'kitchen', sample: clean }),
      ),
    );
    expect((await api.get(`${P}/streams/kitchen/info`)).body.quality_metrics.sample_count).toBe(8);
  });

  describe('errors', () => {
    it('answers 404 for a client that is not registered here, even if another network has it', async () => {
      const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
      await api.post(`/api/v1/${other}/service/client/register/office-mic`);
      expectError(await api.get(`${P}/streams/office-mic/info`), 404, 'CLIENT_NOT_FOUND');
      expectError(
        await api.post(`${P}/streams/phone/rssi`, { target_client_id: 'office-mic', rssi: -40 }),
        404,
        'CLIENT_NOT_FOUND',
      );
      expectError(
        await api.post(`${P}/streams/phone/location`, {
          client_id: 'office-mic',
          location: { latitude: 1, longitude: 1 },
        }),
        404,
        'CLIENT_NOT_FOUND',
      );
      expect(await database.db.selectFrom('stream_quality').selectAll().execute()).toEqual([]);
    });

    it('answers 422 for out-of-range values or a missing target', async () => {
      expectError(await api.post(`${P}/streams/phone/rssi`, { rssi: -40 }), 422, 'VALIDATION_ERROR');
      expectError(
        await api.post(`${P}/streams/phone/rssi`, { client_id: 'kitchen', rssi: 20 }),
        422,
        'VALIDATION_ERROR',
      );
      expectError(
        await api.post(`${P}/streams/phone/location`, {
          client_id: 'kitchen',
          location: { latitude: 91, longitude: 0 },
        }),
        422,
        'VALIDATION_ERROR',
      );
    });
  });
});
