import { describe, expect, it } from 'vitest';
import { computeFbank, NUM_MEL_BINS } from '../../../shared/audio/fbank';
import { fixture } from '../../helpers/audio';

interface Reference {
  sample_rate: number;
  samples: number;
  frames: number;
  bins: number;
  fbank: number[][];
}

/** The fixed signal of scripts/audio/fbank_reference.py (keep the two in step). */
function referenceSignal(n: number, rate: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const t = i / rate;
    return (
      0.4 * Math.sin(2 * Math.PI * (100 * t + 0.5 * 13800 * t * t)) +
      0.2 * Math.sin(2 * Math.PI * 440 * t + 0.3) +
      0.05 * Math.sin(i * i * 0.001)
    );
  });
}

describe('computeFbank', () => {
  const reference = JSON.parse(fixture('fbank-reference.json').toString('utf8')) as Reference;

  it('matches the independent numpy reference to within 1e-3 in every frame and bin', () => {
    const x = referenceSignal(reference.samples, reference.sample_rate);

    const { data, frames } = computeFbank(x, false);

    expect(frames).toBe(reference.frames);
    let worst = 0;
    for (let t = 0; t < frames; t++)
      for (let m = 0; m < NUM_MEL_BINS; m++)
        worst = Math.max(worst, Math.abs(data[t * NUM_MEL_BINS + m] - reference.fbank[t][m]));
    expect(worst).toBeLessThan(1e-3);
  });

  it('subtracts each bin mean when mean normalisation is on', () => {
    const x = referenceSignal(reference.samples, reference.sample_rate);

    const { data, frames } = computeFbank(x, true);

    for (let m = 0; m < NUM_MEL_BINS; m++) {
      let sum = 0;
      for (let t = 0; t < frames; t++) sum += data[t * NUM_MEL_BINS + m];
      expect(Math.abs(sum / frames)).toBeLessThan(1e-4);
    }
  });

  it('gives no frames for less than one 25 ms window and one per 10 ms after it', () => {
    expect(computeFbank(new Float32Array(399)).frames).toBe(0);
    expect(computeFbank(new Float32Array(400)).frames).toBe(1);
    expect(computeFbank(new Float32Array(16000)).frames).toBe(98);
  });

  it('stays finite on digital silence (energies are floored before the log)', () => {
    const { data } = computeFbank(new Float32Array(1600), false);

    expect(data.every(Number.isFinite)).toBe(true);
  });
});
