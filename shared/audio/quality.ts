/**
 * Signal quality of one upload, for choosing the best of several devices that heard the same utterance.
 * Speech and noise are told apart by the VAD segments, so the numbers describe the talker, not the room.
 */
import FFT from 'fft.js';
import { SAMPLE_RATE } from './decode';
import type { SpeechSegment } from './vad';

export interface QualityMetrics {
  /** Speech power over noise power, dB, clamped to [-10, 60]. */
  snrDb: number;
  /** 0..1: share of power in the 300-3400 Hz speech band times (1 - its spectral flatness). */
  speechClarity: number;
  /** Share of power in 300-3400 Hz (of 50-8000 Hz), from a Welch PSD of the speech parts. */
  speechBandRatio: number;
  /** Spectral flatness of the speech band, 0 (tonal, voiced) .. 1 (white noise). */
  spectralFlatness: number;
  /**
   * Share of power above 4 kHz (of 50-8000 Hz) in the speech parts. Wideband speech keeps a few percent
   * there (fricatives, breath); telephone-band, heavily low-passed or far, muffled audio keeps almost none,
   * and speaker embeddings of such audio resemble each other more than they resemble the voice.
   */
  highBandRatio: number;
  /** RMS of the speech parts (of everything when there is no speech), linear full scale 0..1. */
  volumeRms: number;
  /** The same in dBFS. */
  volumeDbfs: number;
  /** RMS of the non-speech parts, linear full scale 0..1. */
  noiseLevel: number;
  /** Share of samples at or beyond 0.99 full scale. */
  clippingRatio: number;
  /** Share of the audio inside speech segments (from the VAD). */
  speechRatio: number;
}

const FRAME = 320; // 20 ms
const NFFT = 512;
const HOP = 256;
const CLIP_LEVEL = 0.99;
/** Noise floor: about the quantisation noise of 16-bit audio, so digital silence gives a finite SNR. */
const POWER_FLOOR = 1e-10;

let fft: FFT | undefined;
let hann: Float64Array | undefined;

function frameInSpeech(segments: SpeechSegment[]) {
  return (centre: number) => {
    const t = centre / SAMPLE_RATE;
    return segments.some((s) => t >= s.startS && t < s.endS);
  };
}

/** Welch PSD (Hann, 512 points, 50% overlap) of the frames whose flag is set; one-sided, 257 bins. */
function welch(samples: Float32Array, useFrame: (start: number) => boolean): Float64Array | undefined {
  fft ??= new FFT(NFFT);
  hann ??= Float64Array.from({ length: NFFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / NFFT));
  const psd = new Float64Array(NFFT / 2 + 1);
  const frame = new Array<number>(NFFT);
  const out = fft.createComplexArray() as number[];
  let count = 0;
  for (let start = 0; start + NFFT <= samples.length; start += HOP) {
    if (!useFrame(start + NFFT / 2)) continue;
    for (let i = 0; i < NFFT; i++) frame[i] = samples[start + i] * hann[i];
    fft.realTransform(out, frame);
    for (let k = 0; k <= NFFT / 2; k++) psd[k] += out[2 * k] ** 2 + out[2 * k + 1] ** 2;
    count++;
  }
  if (!count) return undefined;
  for (let k = 0; k < psd.length; k++) psd[k] /= count;
  return psd;
}

function spectralShape(psd: Float64Array | undefined) {
  if (!psd) return { speechBandRatio: 0, spectralFlatness: 1, highBandRatio: 0 };
  const bin = (hz: number) => Math.round((hz * NFFT) / SAMPLE_RATE);
  let band = 0;
  let high = 0;
  let total = 0;
  let logSum = 0;
  let n = 0;
  for (let k = bin(50); k <= NFFT / 2; k++) total += psd[k];
  for (let k = bin(4000); k <= NFFT / 2; k++) high += psd[k];
  for (let k = bin(300); k <= bin(3400); k++) {
    band += psd[k];
    logSum += Math.log(psd[k] + 1e-20);
    n++;
  }
  if (total <= POWER_FLOOR) return { speechBandRatio: 0, spectralFlatness: 1, highBandRatio: 0 };
  const flatness = Math.exp(logSum / n) / (band / n);
  return {
    speechBandRatio: band / total,
    spectralFlatness: Math.min(1, flatness),
    highBandRatio: high / total,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const lowerHalf = (xs: number[]) => [...xs].sort((a, b) => a - b).slice(0, Math.ceil(xs.length / 2));
const percentile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** Quality metrics of 16 kHz mono audio given its speech segments. */
export function qualityMetrics(
  samples: Float32Array,
  vad: { segments: SpeechSegment[]; speechRatio: number },
) {
  const inSpeech = frameInSpeech(vad.segments);
  const speechPower: number[] = [];
  const noisePower: number[] = [];
  const allPower: number[] = [];
  let clipped = 0;
  for (let i = 0; i < samples.length; i++) if (Math.abs(samples[i]) >= CLIP_LEVEL) clipped++;
  for (let start = 0; start + FRAME <= samples.length; start += FRAME) {
    let e = 0;
    for (let i = start; i < start + FRAME; i++) e += samples[i] * samples[i];
    e /= FRAME;
    allPower.push(e);
    (inSpeech(start + FRAME / 2) ? speechPower : noisePower).push(e);
  }
  if (!allPower.length) allPower.push(0);
  // Noise: the quieter half of the non-speech frames when there are enough of them (100 ms), so speech
  // the VAD left outside its segments (word tails, a missed first word) does not count as noise; else
  // the quietest tenth of all frames.
  const noise = Math.max(
    noisePower.length >= 5 ? mean(lowerHalf(noisePower)) : percentile(allPower, 0.1),
    POWER_FLOOR,
  );
  // Speech: the speech frames; with no speech, the loudest tenth (so noise alone scores near 0 dB).
  const signal = speechPower.length ? mean(speechPower) : percentile(allPower, 0.9);
  const snrDb = clamp(10 * Math.log10(Math.max(signal - noise, POWER_FLOOR) / noise), -10, 60);

  const speechOnly = vad.segments.length > 0;
  const shape = spectralShape(welch(samples, speechOnly ? inSpeech : () => true));
  const volumePower = speechPower.length ? mean(speechPower) : mean(allPower);
  const volumeRms = Math.sqrt(volumePower);
  const metrics: QualityMetrics = {
    snrDb: round(snrDb, 2),
    speechClarity: round(shape.speechBandRatio * (1 - shape.spectralFlatness), 4),
    speechBandRatio: round(shape.speechBandRatio, 4),
    spectralFlatness: round(shape.spectralFlatness, 4),
    highBandRatio: round(shape.highBandRatio, 5),
    volumeRms: round(volumeRms, 5),
    volumeDbfs: round(20 * Math.log10(Math.max(volumeRms, 1e-5)), 2),
    noiseLevel: round(Math.sqrt(noise), 6),
    clippingRatio: round(samples.length ? clipped / samples.length : 0, 5),
    speechRatio: round(vad.speechRatio, 4),
  };
  return metrics;
}

/**
 * One number in 0..1 for comparing streams, from the audio alone (the streams context adds location and
 * RSSI). Weights: SNR 0.4 (0 dB -> 0, 30 dB -> 1), clarity 0.25, speech ratio 0.2, loudness 0.15
 * (-45 dBFS -> 0, -20 dBFS -> 1); clipping takes up to half off (10% clipped samples -> half).
 */
export function audioQualityScore(m: QualityMetrics): number {
  const snr = clamp(m.snrDb / 30, 0, 1);
  const loudness = clamp((m.volumeDbfs + 45) / 25, 0, 1);
  const base = 0.4 * snr + 0.25 * clamp(m.speechClarity, 0, 1) + 0.2 * m.speechRatio + 0.15 * loudness;
  return round(base * (1 - Math.min(0.5, m.clippingRatio * 5)), 4);
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * How music-like (tonal) the speech parts sound, 0..1: the median over frames of the share of the
 * 80-4000 Hz power that sits in the frame's three strongest spectral peaks (each +-2 bins). A voice spreads
 * its power over many harmonics shaped by formants (about 0.2-0.5); sine tones, whistles and most melodies
 * put nearly all of it in one to three peaks (0.8 and more). Used to refuse a melody as a voice sample.
 */
export function tonality(samples: Float32Array, segments: SpeechSegment[]): number {
  fft ??= new FFT(NFFT);
  hann ??= Float64Array.from({ length: NFFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / NFFT));
  const inSpeech = segments.length ? frameInSpeech(segments) : () => true;
  const lo = Math.round((80 * NFFT) / SAMPLE_RATE);
  const hi = Math.round((4000 * NFFT) / SAMPLE_RATE);
  const frame = new Array<number>(NFFT);
  const out = fft.createComplexArray() as number[];
  const power = new Float64Array(hi + 1);
  const shares: number[] = [];
  for (let start = 0; start + NFFT <= samples.length; start += HOP) {
    if (!inSpeech(start + NFFT / 2)) continue;
    for (let i = 0; i < NFFT; i++) frame[i] = samples[start + i] * hann[i];
    fft.realTransform(out, frame);
    let total = 0;
    for (let k = lo; k <= hi; k++) {
      power[k] = out[2 * k] ** 2 + out[2 * k + 1] ** 2;
      total += power[k];
    }
    if (total < 1e-6) continue; // a silent frame says nothing
    let inPeaks = 0;
    for (let p = 0; p < 3; p++) {
      let at = lo;
      for (let k = lo; k <= hi; k++) if (power[k] > power[at]) at = k;
      for (let k = Math.max(lo, at - 2); k <= Math.min(hi, at + 2); k++) {
        inPeaks += power[k];
        power[k] = 0;
      }
    }
    shares.push(inPeaks / total);
  }
  if (!shares.length) return 0;
  shares.sort((a, b) => a - b);
  return round(shares[Math.floor(shares.length / 2)], 4);
}
