import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelCard } from '../../shared/audio/model-card';
import {
  decideSpeaker,
  pitchGap,
  pitchGapBetween,
  qualityReasons,
  scoreCandidates,
  type SpeakerPolicy,
} from '../../shared/domain/speaker-match';
import { asNorm, cohortStats, unit } from '../../shared/domain/speaker-score';

const policy: SpeakerPolicy = {
  score: 'as-norm',
  acceptScore: 2,
  degradedAcceptScore: 4,
  minMargin: 0.5,
  updateScore: 3,
  clusterScore: 2,
  mergeScore: 3,
  cosineFloor: 0.5,
  minVoicedSeconds: 1,
  minSnrDb: 12,
  maxClippingRatio: 0.01,
  minHighBandRatio: 0.0001,
  maxPitchSemitones: 4,
  enrolMinVoicedSeconds: 1,
  newPersonSeconds: 3,
  newPersonUtterances: 2,
  maxEmbeddingsPerPerson: 8,
};
const score = (id: string, s: number, cosine = 0.9) => ({ id, score: s, cosine });

describe('decideSpeaker', () => {
  it('attributes a clear match, and updates the voiceprint only from a confident clean one', () => {
    expect(decideSpeaker([score('ana', 3.5), score('bea', 0)], [], [], policy)).toMatchObject({
      kind: 'matched',
      personId: 'ana',
      update: true,
    });
    expect(decideSpeaker([score('ana', 2.5)], [], [], policy)).toMatchObject({
      kind: 'matched',
      update: false,
    });
  });

  it('stays unknown when the best two persons are closer than the margin', () => {
    expect(decideSpeaker([score('ana', 3), score('bea', 2.8)], [], [], policy)).toMatchObject({
      kind: 'unknown',
      reason: 'ambiguous',
    });
  });

  it('asks more of a degraded utterance and never clusters it', () => {
    expect(decideSpeaker([score('ana', 3)], [], ['too_noisy'], policy)).toMatchObject({
      kind: 'unknown',
      reason: 'low_quality',
    });
    expect(decideSpeaker([score('ana', 5)], [], ['too_noisy'], policy)).toMatchObject({
      kind: 'matched',
      update: false,
    });
    expect(decideSpeaker([], [score('c1', 9)], ['clipped'], policy)).toMatchObject({ kind: 'unknown' });
  });

  it('puts a clean unknown voice in the nearest cluster, a new one when none is close', () => {
    expect(decideSpeaker([score('ana', -3)], [score('c1', 2.5)], [], policy)).toEqual({
      kind: 'cluster',
      clusterId: 'c1',
      score: 2.5,
    });
    expect(decideSpeaker([score('ana', -3)], [score('c1', 1)], [], policy)).toMatchObject({
      kind: 'cluster',
      clusterId: null,
    });
    // Close to someone enrolled but below the bar: neither them nor a new voice.
    expect(decideSpeaker([score('ana', 1.5)], [], [], policy)).toMatchObject({
      kind: 'unknown',
      reason: 'near_enrolled',
    });
  });

  it('never names a person whose habitual pitch is far from the utterance, nor the runner-up instead', () => {
    const gap = (id: string, s: number, pitchGap: number) => ({ ...score(id, s), pitchGap });
    // The same timbre six semitones higher: not Ana, and not a new person either.
    expect(decideSpeaker([gap('ana', 6, 6.5), score('bea', 0)], [], [], policy)).toMatchObject({
      kind: 'unknown',
      reason: 'pitch_mismatch',
    });
    // Bea clears the bar, but the voice sounds more like (vetoed) Ana than like her: no margin, no name.
    expect(decideSpeaker([gap('ana', 6, 6.5), gap('bea', 5, 1)], [], [], policy)).toMatchObject({
      kind: 'unknown',
    });
    // Within the tolerance the pitch changes nothing.
    expect(decideSpeaker([gap('ana', 6, 3.5), score('bea', 0)], [], [], policy)).toMatchObject({
      kind: 'matched',
      personId: 'ana',
    });
    // A cluster at another pitch is not joined: a new one starts.
    expect(decideSpeaker([], [gap('c1', 5, 7)], [], policy)).toMatchObject({
      kind: 'cluster',
      clusterId: null,
    });
  });

  it('measures the pitch gap to the nearest measured sample, and vetoes nothing on one sample', () => {
    // One odd sample (a shout, a tracker's octave error) must not lock a person out.
    expect(pitchGap(160, [110])).toBeUndefined();
    expect(pitchGap(160, [])).toBeUndefined();
    expect(pitchGap(null, [110, 115])).toBeUndefined();
    // A person heard at 110 and 150 Hz keeps the whole range: 160 Hz is near the higher one.
    expect(pitchGap(160, [110, 150])).toBeCloseTo(1.12, 2);
    expect(pitchGap(220, [110, 115])).toBeCloseTo(11.23, 2);
    // Between two candidates (merges): the nearest pair, only with two measured samples on each side.
    expect(pitchGapBetween([110, 150], [160, 220])).toBeCloseTo(1.12, 2);
    expect(pitchGapBetween([110, 115], [220])).toBeUndefined();
    expect(pitchGapBetween([110], [220, 230])).toBeUndefined();
  });

  it('never matches below the cosine floor, whatever the normalised score', () => {
    expect(decideSpeaker([score('ana', 9, 0.3)], [], [], policy).kind).not.toBe('matched');
  });

  it('names every quality problem', () => {
    expect(
      qualityReasons({ embedding: null, voicedSeconds: 0.4, snrDb: 3, clippingRatio: 0.2 }, policy),
    ).toEqual(['no_embedding', 'too_short', 'too_noisy', 'clipped']);
  });
});

describe('AS-norm', () => {
  const cohort = {
    dim: 2,
    count: 4,
    topN: 2,
    vectors: Float32Array.from([...unit([1, 0]), ...unit([0, 1]), ...unit([1, 1]), ...unit([-1, 0])]),
  };

  it('measures a score against what each side scores against strangers', () => {
    const stats = cohortStats(unit([1, 0]), cohort);
    expect(stats.mean).toBeCloseTo((1 + Math.SQRT1_2) / 2);
    expect(asNorm(stats.mean, stats, stats)).toBeCloseTo(0);
  });

  it('scores each candidate by its best embedding, best candidate first', () => {
    const test = unit([1, 0.1]);
    const ranked = scoreCandidates(
      test,
      { mean: 0, std: 1 },
      [
        { id: 'far', vectors: Float32Array.from(unit([0, 1])), stats: Float32Array.from([0, 1]), count: 1 },
        {
          id: 'near',
          vectors: Float32Array.from([...unit([0, 1]), ...unit([1, 0])]),
          stats: Float32Array.from([0, 1, 0, 1]),
          count: 2,
        },
      ],
      'as-norm',
    );
    expect(ranked.map((r) => r.id)).toEqual(['near', 'far']);
    expect(ranked[0].cosine).toBeCloseTo(test[0]);
  });
});

describe('model card', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mira-card-'));

  it('reads the calibration and a JSON cohort beside the model', () => {
    const model = join(dir, 'm.onnx');
    writeFileSync(
      join(dir, 'm.card.json'),
      JSON.stringify({
        embedding_dim: 2,
        cohort: { file: 'm.cohort.json', top_n: 1 },
        calibration: { score: 'as-norm', accept_score: 3, min_margin: 1 },
      }),
    );
    writeFileSync(
      join(dir, 'm.cohort.json'),
      JSON.stringify([
        [3, 4],
        [0, 2],
      ]),
    );

    const card = readModelCard(model);

    expect(card.calibration).toMatchObject({ score: 'as-norm', acceptScore: 3, minMargin: 1 });
    expect(card.cohort).toMatchObject({ dim: 2, count: 2, topN: 1 });
    expect(Array.from(card.cohort!.vectors)).toEqual([0.6000000238418579, 0.800000011920929, 0, 1]);
  });

  it('falls back to raw cosines when the card has no cohort, or there is no card', () => {
    const model = join(dir, 'n.onnx');
    writeFileSync(
      join(dir, 'n.card.json'),
      JSON.stringify({ embedding_dim: 2, calibration: { score: 'as-norm', accept_score: 3 } }),
    );
    // AS-norm thresholds mean nothing on cosines: the uncalibrated ones apply.
    expect(readModelCard(model).calibration).toMatchObject({ score: 'cosine', acceptScore: 0.5 });
    expect(readModelCard(join(dir, 'none.onnx'))).toMatchObject({
      cardPath: undefined,
      cohort: undefined,
      calibration: { score: 'cosine' },
    });
  });
});
