/**
 * Kaldi-compatible log-mel filterbank, the input WeSpeaker's models are trained on (the same numbers as
 * `torchaudio.compliance.kaldi.fbank(wave * 32768, num_mel_bins=80, frame_length=25, frame_shift=10,
 * dither=0, window_type='povey', preemphasis_coefficient=0.97, energy_floor=0)`, then per-bin mean
 * subtraction as WeSpeaker's feature pipeline does). Checked against an independent numpy implementation:
 * scripts/audio/fbank_reference.py and test/fixtures/audio/fbank-reference.json.
 */
import FFT from 'fft.js';
import { SAMPLE_RATE } from './decode';

export const NUM_MEL_BINS = 80;
const FRAME_LENGTH = 400; // 25 ms
const FRAME_SHIFT = 160; // 10 ms
const NFFT = 512; // frame length rounded up to a power of two
const PREEMPHASIS = 0.97;
const LOW_FREQ = 20;
const HIGH_FREQ = SAMPLE_RATE / 2;
/** Kaldi floors energies at float32 epsilon before the log. */
const EPSILON = 1.1920928955078125e-7;

export interface Fbank {
  /** frames x 80, row-major. */
  data: Float32Array;
  frames: number;
}

const melScale = (hz: number) => 1127 * Math.log(1 + hz / 700);

interface MelBank {
  /** First FFT bin of each filter. */
  first: Int32Array;
  /** Weights of each filter from its first bin on. */
  weights: Float64Array[];
}

let bank: MelBank | undefined;
let povey: Float64Array | undefined;
let fft: FFT | undefined;

/** Triangular filters, equally spaced on the mel scale, as Kaldi's MelBanks builds them. */
function melBank(): MelBank {
  const binWidth = SAMPLE_RATE / NFFT;
  const melLow = melScale(LOW_FREQ);
  const melHigh = melScale(HIGH_FREQ);
  const delta = (melHigh - melLow) / (NUM_MEL_BINS + 1);
  const first = new Int32Array(NUM_MEL_BINS);
  const weights: Float64Array[] = [];
  for (let m = 0; m < NUM_MEL_BINS; m++) {
    const left = melLow + m * delta;
    const centre = left + delta;
    const right = centre + delta;
    const w: number[] = [];
    let start = -1;
    // Kaldi uses bins 0..NFFT/2-1; the Nyquist bin gets no weight.
    for (let k = 0; k < NFFT / 2; k++) {
      const mel = melScale(k * binWidth);
      const weight = Math.max(0, Math.min((mel - left) / (centre - left), (right - mel) / (right - centre)));
      if (weight > 0) {
        if (start < 0) start = k;
        w[k - start] = weight;
      } else if (start >= 0) break;
    }
    first[m] = Math.max(start, 0);
    weights.push(Float64Array.from(w, (x) => x ?? 0));
  }
  return { first, weights };
}

/** Log-mel filterbank of 16 kHz mono audio in [-1, 1]; `meanNormalise` subtracts each bin's mean. */
export function computeFbank(samples: Float32Array, meanNormalise = true): Fbank {
  bank ??= melBank();
  povey ??= Float64Array.from(
    { length: FRAME_LENGTH },
    (_, i) => (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (FRAME_LENGTH - 1))) ** 0.85,
  );
  fft ??= new FFT(NFFT);
  const frames =
    samples.length < FRAME_LENGTH ? 0 : 1 + Math.floor((samples.length - FRAME_LENGTH) / FRAME_SHIFT);
  const data = new Float32Array(frames * NUM_MEL_BINS);
  const frame = new Array<number>(NFFT).fill(0);
  const spectrum = fft.createComplexArray() as number[];
  const power = new Float64Array(NFFT / 2 + 1);
  for (let t = 0; t < frames; t++) {
    const offset = t * FRAME_SHIFT;
    let mean = 0;
    for (let i = 0; i < FRAME_LENGTH; i++) mean += samples[offset + i];
    mean = (mean * 32768) / FRAME_LENGTH;
    // DC removal, pre-emphasis (the first sample against itself, as Kaldi does), Povey window.
    let prev = samples[offset] * 32768 - mean;
    for (let i = 0; i < FRAME_LENGTH; i++) {
      const x = samples[offset + i] * 32768 - mean;
      frame[i] = (x - PREEMPHASIS * prev) * povey[i];
      prev = x;
    }
    fft.realTransform(spectrum, frame);
    for (let k = 0; k <= NFFT / 2; k++) power[k] = spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2;
    const row = t * NUM_MEL_BINS;
    for (let m = 0; m < NUM_MEL_BINS; m++) {
      const w = bank.weights[m];
      const k0 = bank.first[m];
      let e = 0;
      for (let j = 0; j < w.length; j++) e += w[j] * power[k0 + j];
      data[row + m] = Math.log(Math.max(e, EPSILON));
    }
  }
  if (meanNormalise && frames > 0) {
    for (let m = 0; m < NUM_MEL_BINS; m++) {
      let sum = 0;
      for (let t = 0; t < frames; t++) sum += data[t * NUM_MEL_BINS + m];
      const mean = sum / frames;
      for (let t = 0; t < frames; t++) data[t * NUM_MEL_BINS + m] -= mean;
    }
  }
  return { data, frames };
}
