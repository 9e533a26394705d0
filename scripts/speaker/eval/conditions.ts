/**
 * The degraded conditions of the speaker evaluation, applied to clean 16 kHz audio. Deterministic (seeded
 * noise, fixed rooms), and written independently of the training augmentation (scripts/speaker/data.py) so
 * the evaluation does not grade the model on the exact transforms it was trained on.
 */
import { resample } from '../../../shared/audio';
// The tests' seeded generator, so every run degrades the same way.
import { prng } from '../../../test/helpers/audio';

export const CONDITIONS = [
  'clean',
  'noise 20 dB',
  'noise 10 dB',
  'noise 5 dB',
  'reverb',
  'telephone',
  'clipping',
  'short 0.8 s',
  'far',
] as const;
export type Condition = (typeof CONDITIONS)[number];

const FS = 16000;

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

/** Pink noise (Paul Kellet's filter): the spectrum of a fridge, a fan or a street behind a window. */
function pinkNoise(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  const out = new Float32Array(n);
  let b0 = 0,
    b1 = 0,
    b2 = 0,
    b3 = 0,
    b4 = 0,
    b5 = 0,
    b6 = 0;
  for (let i = 0; i < n; i++) {
    const w = gaussian(rand);
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return out;
}

const power = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0) / Math.max(1, x.length);

function addNoise(x: Float32Array, snrDb: number, seed: number): Float32Array {
  const noise = pinkNoise(x.length, seed);
  const k = Math.sqrt(power(x) / (power(noise) * 10 ** (snrDb / 10) + 1e-20));
  return x.map((v, i) => v + k * noise[i]);
}

/** A room: direct sound, early reflections and an exponential diffuse tail of the given RT60. */
function roomImpulse(rt60: number, seed: number): Float32Array {
  const rand = prng(seed);
  const h = new Float32Array(Math.round(rt60 * FS));
  for (let i = Math.round(0.005 * FS); i < h.length; i++)
    h[i] = 0.4 * gaussian(rand) * Math.exp((-6.9 * i) / (rt60 * FS));
  h[0] = 1;
  for (const [ms, gain] of [
    [7, 0.6],
    [13, -0.45],
    [21, 0.35],
    [34, -0.3],
  ])
    h[Math.round((ms / 1000) * FS)] += gain;
  return h;
}

/** Direct convolution over the nonzero taps; slow-ish but only a few hundred utterances. */
function convolve(x: Float32Array, h: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  const taps: number[] = [];
  for (let k = 0; k < h.length; k++) if (h[k] !== 0 && (k < 800 || k % 4 === 0)) taps.push(k);
  // The sparse tail (every 4th tap past 50 ms) keeps the cost down; scaled so the energy is kept.
  for (const k of taps) {
    const g = k < 800 ? h[k] : h[k] * 2;
    for (let i = k; i < x.length; i++) out[i] += g * x[i - k];
  }
  return scalePeak(out, peak(x));
}

const peak = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function scalePeak(x: Float32Array, target: number): Float32Array {
  const p = peak(x);
  return p > 0 ? x.map((v) => (v * target) / p) : x;
}

/** RBJ biquad, applied in place order. */
function biquad(x: Float32Array, type: 'lowpass' | 'highpass', f0: number, q = Math.SQRT1_2): Float32Array {
  const w = (2 * Math.PI * f0) / FS;
  const alpha = Math.sin(w) / (2 * q);
  const cos = Math.cos(w);
  const [b0, b1, b2] =
    type === 'lowpass' ? [(1 - cos) / 2, 1 - cos, (1 - cos) / 2] : [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2];
  const [a0, a1, a2] = [1 + alpha, -2 * cos, 1 - alpha];
  const out = new Float32Array(x.length);
  let x1 = 0,
    x2 = 0,
    y1 = 0,
    y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const y = (b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
    x2 = x1;
    x1 = x[i];
    y2 = y1;
    y1 = y;
    out[i] = y;
  }
  return out;
}

/** A phone line: 300-3400 Hz (two 2nd-order sections each side), 8 kHz sampling and 8-bit mu-law. */
function telephone(x: Float32Array): Float32Array {
  let y = biquad(biquad(x, 'highpass', 300), 'highpass', 300);
  y = biquad(biquad(y, 'lowpass', 3400), 'lowpass', 3400);
  const narrow = resample(y, FS, 8000);
  const p = peak(narrow) || 1;
  const mu = 255;
  const coded = narrow.map((v) => {
    const s = v / p;
    const c = Math.round(((Math.sign(s) * Math.log1p(mu * Math.abs(s))) / Math.log1p(mu)) * 127) / 127;
    return ((Math.sign(c) * ((1 + mu) ** Math.abs(c) - 1)) / mu) * p;
  });
  return resample(coded, 8000, FS);
}

/**
 * The condition applied to one clean utterance (`seed` differs per utterance). `short 0.8 s` is applied
 * by the evaluation to the speech the VAD found (0.8 s of speech, not of audio), so here it is the clean audio.
 */
export function degrade(x: Float32Array, condition: Condition, seed: number): Float32Array {
  switch (condition) {
    case 'clean':
    case 'short 0.8 s':
      return x;
    case 'noise 20 dB':
      return addNoise(x, 20, seed);
    case 'noise 10 dB':
      return addNoise(x, 10, seed);
    case 'noise 5 dB':
      return addNoise(x, 5, seed);
    case 'reverb':
      return convolve(x, roomImpulse(0.6, seed));
    case 'telephone':
      return telephone(x);
    case 'clipping':
      // 18 dB too much gain into a hard limit: a shout into a cheap microphone.
      return x.map((v) => Math.max(-1, Math.min(1, v * 8)));
    case 'far': {
      // Across the room: 20 dB quieter, high frequencies lost, a reverberant room and its noise.
      const quiet = biquad(
        x.map((v) => v * 0.1),
        'lowpass',
        4000,
      );
      return addNoise(convolve(quiet, roomImpulse(0.8, seed)), 10, seed + 1);
    }
  }
}
