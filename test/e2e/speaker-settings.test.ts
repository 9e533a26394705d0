import { beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/audio';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { createTestApi, multipart } from '../helpers/http';

useTestDatabase();
const api = createTestApi();

describe('speaker decision settings, re-clustering and merge proposals', () => {
  let P: string;

  beforeEach(async () => {
    const networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
  });

  it("shows the model card's calibration, and a network's overrides until they are removed", async () => {
    const initial = await api.get(`${P}/persons/speaker-settings`);
    expect(initial.status).toBe(200);
    expect(initial.body).toMatchObject({
      model: 'mira-speaker-tdnn-v1.onnx',
      score: 'as-norm',
      calibrated: true,
      overrides: {},
    });
    expect(initial.body.effective).toEqual(initial.body.model_defaults);
    expect(initial.body.model_defaults).toMatchObject({
      speaker_min_voiced_seconds: 1,
      speaker_new_person_utterances: 2,
    });

    const changed = await api.patch(`${P}/persons/speaker-settings`, {
      speaker_accept_score: 3.5,
      speaker_min_snr_db: 18,
    });
    expect(changed.status).toBe(200);
    expect(changed.body.overrides).toEqual({ speaker_accept_score: 3.5, speaker_min_snr_db: 18 });
    expect(changed.body.effective.speaker_accept_score).toBe(3.5);

    const reset = await api.patch(`${P}/persons/speaker-settings`, { speaker_accept_score: null });
    expect(reset.body.overrides).toEqual({ speaker_min_snr_db: 18 });
    expect(reset.body.effective.speaker_accept_score).toBe(initial.body.model_defaults.speaker_accept_score);
  });

  it('refuses settings out of range or unknown with 422', async () => {
    expectError(
      await api.patch(`${P}/persons/speaker-settings`, { speaker_new_person_utterances: 1 }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.patch(`${P}/persons/speaker-settings`, { speaker_volume: 3 }),
      422,
      'VALIDATION_ERROR',
    );
  });

  it('proposes two persons enrolled with one voice for merging, and keeps both', async () => {
    for (const [name, file] of [
      ['Cal', 'voice-c-1.mp3'],
      ['Carl', 'voice-c-2.mp3'],
    ]) {
      const person = (await api.post(`${P}/persons`, { name })).body;
      await api.post(
        `${P}/persons/${person.id}/voice`,
        multipart({ audio_file: { filename: file, content: fixture(file), mimetype: 'audio/mpeg' } }),
      );
    }

    const recluster = await api.post(`${P}/persons/recluster`);
    const proposals = await api.get(`${P}/persons/merge-proposals`);

    expect(recluster.status).toBe(200);
    expect(recluster.body).toEqual({
      merged_clusters: 0,
      pruned_clusters: 0,
      proposals: 1,
      open_clusters: 0,
    });
    expect(proposals.body).toEqual([
      { person_ids: expect.any(Array), score: expect.any(Number), created_at: expect.any(String) },
    ]);
    expect((await api.get(`${P}/persons`)).body.map((p: any) => p.name)).toEqual(['Cal', 'Carl']);
  });
});
