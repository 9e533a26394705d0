import { describe, expect, it } from 'vitest';
import lsr from '@alexanderolsen/libsamplerate-js';
import { resample } from '../../../shared/audio/resample';
import { rms, tone, whiteNoise } from '../../helpers/audio';

const gainDb = (out: Float32Array, input: Float32Array) => {
  // Leave the filter's edge transients out of the measurement.
  const margin = (n: number) => Math.floor(n / 20);
  return 20 * Math.log10(rms(out, margin(out.length), out.length - margin(out.length)) / rms(input));
};

describe('resample', () => {
  it('returns the input itself when the rates already match', () => {
    const x = tone(440, 16000, 0.1);

    expect(resample(x, 16000, 16000)).toBe(x);
  });

  it.each([48000, 44100, 22050, 11025, 8000, 44099])(
    'keeps a 1 kHz tone at full level from %i Hz',
    (rate) => {
      const x = tone(1000, rate, 1);

      const y = resample(x, rate, 16000);

      expect(y.length).toBe(Math.floor((x.length * 16000) / rate));
      expect(Math.abs(gainDb(y, x))).toBeLessThan(0.1);
    },
  );

  it.each([
    [48000, 12000],
    [48000, 9500],
    [44100, 15000],
    [22050, 10000],
  ])('removes a tone above 8 kHz at %i Hz (%i Hz) instead of aliasing it', (rate, hz) => {
    const x = tone(hz, rate, 1);

    const y = resample(x, rate, 16000);

    expect(gainDb(y, x)).toBeLessThan(-60);
  });

  it('agrees with libsamplerate on broadband audio', async () => {
    // Prepare: noise band-limited by the reference itself, so both only differ in their filters' edges.
    const src = await lsr.create(1, 48000, 16000, { converterType: lsr.ConverterType.SRC_SINC_BEST_QUALITY });
    const x = whiteNoise(48000, 0.2, 7);
    const reference = src.simple(x);
    src.destroy();

    const y = resample(x, 48000, 16000);

    // Assess: compare in the band both pass (up to 6 kHz) by low-passing both the same way.
    const lp = (v: Float32Array) => resample(resample(v, 16000, 12000), 12000, 16000);
    const a = lp(y).subarray(200, 15800);
    const b = lp(reference).subarray(200, 15800);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.99);
  });
});
