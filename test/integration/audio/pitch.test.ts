import { describe, expect, it } from 'vitest';
import { decodeAudio, detectSpeech, resample } from '../../../shared/audio/index';
import { medianPitchHz } from '../../../shared/audio/pitch';
import { semitones } from '../../../shared/domain/speaker-match';
import { fixture } from '../../helpers/audio';

const load = async (name: string) => (await decodeAudio(fixture(name))).samples;
const pitchOf = async (samples: Float32Array) =>
  medianPitchHz(samples, (await detectSpeech(samples)).segments);

/** A glottal-like pulse train: a fundamental with decaying harmonics, as a voiced vowel. */
function vowel(f0: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < out.length; i++)
    for (let h = 1; h <= 12; h++) out[i] += (0.3 / h) * Math.sin((2 * Math.PI * f0 * h * i) / 16000);
  return out;
}

describe('medianPitchHz (the speaker decision pitch veto)', () => {
  it('measures the fundamental of a voiced sound, low and high', () => {
    expect(medianPitchHz(vowel(95, 1.5))).toBeCloseTo(95, -0.5);
    expect(medianPitchHz(vowel(240, 1.5))).toBeCloseTo(240, -0.5);
  });

  it("puts a voice's utterances within two semitones of each other, and a low voice far from a high one", async () => {
    const a = await Promise.all(['voice-a-1.mp3', 'voice-a-2.mp3', 'voice-a-3.mp3'].map(load));
    const b = await Promise.all(['voice-b-1.mp3', 'voice-b-2.mp3'].map(load));
    const pa = (await Promise.all(a.map(pitchOf))) as number[];
    const pb = (await Promise.all(b.map(pitchOf))) as number[];
    for (const p of [...pa, ...pb]) expect(p).toBeGreaterThan(0);
    expect(semitones(Math.max(...pa), Math.min(...pa))).toBeLessThan(2.5);
    expect(semitones(pa[0], pb[0])).toBeGreaterThan(10);
  });

  it('follows the same speech played a third higher', async () => {
    const speech = await load('voice-c-1.mp3');
    // Taken as 20.16 kHz audio and resampled to 16 kHz, it plays 1.26x faster: four semitones up.
    const higher = resample(speech, 20160, 16000);
    const [p, q] = [await pitchOf(speech), await pitchOf(higher)];
    expect(semitones(p!, q!)).toBeGreaterThan(3);
    expect(semitones(p!, q!)).toBeLessThan(5);
  });

  it('gives no pitch for noise, silence or a fragment', async () => {
    expect(await pitchOf(await load('noise.flac'))).toBeNull();
    expect(medianPitchHz(new Float32Array(16000))).toBeNull();
    expect(medianPitchHz(vowel(120, 0.1))).toBeNull();
  });
});
