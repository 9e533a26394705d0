import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decodeAudio, detectSpeech } from '../../../shared/audio/index';
import { readModelCard, speakerModelCard } from '../../../shared/audio/model-card';
import { getSession, loadOrt, modelFiles } from '../../../shared/audio/models';
import { computeFbank, NUM_MEL_BINS } from '../../../shared/audio/fbank';
import { speechOnly } from '../../../shared/audio/speaker';
import { evaluateSpeakerModel } from '../../../scripts/speaker/eval/evaluate';
import { fixture } from '../../helpers/audio';

/** The model trained by scripts/speaker: the default since issue 15 (README "Speaker model"). */
const TRAINED = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'audio',
  'models',
  'mira-speaker-tdnn-v1.onnx',
);

describe('the trained speaker model', () => {
  it('loads, and its card states the size of what it outputs', async () => {
    const card = readModelCard(TRAINED);
    const { samples } = await decodeAudio(fixture('voice-a-1.mp3'));
    const { data, frames } = computeFbank(speechOnly(samples, (await detectSpeech(samples)).segments));
    const [ort, session] = await Promise.all([loadOrt(), getSession(TRAINED)]);

    const out = await session.run({ feats: new ort.Tensor('float32', data, [1, frames, NUM_MEL_BINS]) });

    expect(session.inputNames).toEqual(['feats']);
    expect(session.outputNames).toEqual(['embs']);
    expect(out.embs.dims).toEqual([1, card.embeddingDim]);
  });

  it('ships an impostor cohort of unit vectors of the card size', () => {
    const { cohort, embeddingDim } = readModelCard(TRAINED);

    expect(cohort?.dim).toBe(embeddingDim);
    expect(cohort!.count).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < cohort!.count; i++)
      expect(Math.hypot(...cohort!.vectors.subarray(i * cohort!.dim, (i + 1) * cohort!.dim))).toBeCloseTo(
        1,
        3,
      );
  });
});

describe('the speaker evaluation (npm run eval:speaker) on a small subset', () => {
  it('tells held-out voices of the default model apart, less well in noise', async () => {
    expect(modelFiles().speaker).toBe(TRAINED);
    const { calibration, cohort } = speakerModelCard();
    const [clean, noisy] = await evaluateSpeakerModel({
      threshold: calibration.acceptScore,
      cohort: calibration.score === 'as-norm' ? cohort : undefined,
      enrolled: 8,
      testUtterances: 2,
      conditions: ['clean', 'noise 10 dB'],
    });

    expect(clean.top1[4]).toBeGreaterThanOrEqual(0.75);
    expect(clean.top1[8]).toBeGreaterThanOrEqual(0.7);
    expect(clean.eer).toBeLessThanOrEqual(0.2);
    for (const row of [clean, noisy]) expect(row.noEmbedding).toBe(0);
    // Noise costs accuracy: the evaluation would not be telling anything if it did not.
    expect(noisy.top1[8]).toBeLessThanOrEqual(clean.top1[8]);
  }, 300_000);
});
