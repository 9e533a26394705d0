import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { speakerCohort, speakerModelCard } from '../../../shared/audio/model-card';

function modelWith(card?: object, cohort?: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'model-card-'));
  const model = join(dir, 'voice.onnx');
  writeFileSync(model, '');
  if (card) writeFileSync(join(dir, 'voice.card.json'), JSON.stringify(card));
  if (cohort) writeFileSync(join(dir, 'voice.cohort.json'), JSON.stringify(cohort));
  return model;
}

const card = {
  name: 'voice',
  model: 'voice.onnx',
  embeddingDim: 2,
  input: { name: 'feats', shape: ['B', 'T', 80] },
  output: { name: 'embs', shape: ['B', 2] },
  features: { type: 'kaldi-fbank' },
  thresholds: { match: 0.42, minSpeechSeconds: 1, margin: 0.05 },
  cohort: { file: 'voice.cohort.json', size: 2 },
};

describe('speaker model cards and cohorts', () => {
  it('reads the card and cohort beside a model', () => {
    const model = modelWith(card, {
      model: 'voice',
      dim: 2,
      embeddings: [
        [1, 0],
        [0, 1],
      ],
    });

    expect(speakerModelCard(model)?.thresholds.match).toBe(0.42);
    expect(speakerCohort(model)?.map((e) => [...e])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('has neither for a model that ships none', () => {
    const model = modelWith();

    expect(speakerModelCard(model)).toBeUndefined();
    expect(speakerCohort(model)).toBeUndefined();
  });

  it('refuses a cohort whose embeddings are not the size it declares', () => {
    const model = modelWith(card, { model: 'voice', dim: 2, embeddings: [[1, 0, 0]] });

    expect(() => speakerCohort(model)).toThrow(/3 values, not 2/);
  });
});
