/**
 * The median fundamental frequency (F0) of the speech of an utterance, by YIN (de Cheveigné & Kawahara
 * 2002: the cumulative-mean-normalised difference function, absolute threshold, parabolic refinement).
 *
 * Why the speaker decisions want it: a speaker embedding trained on synthetic voices (and, less so, real
 * ones) is nearly blind to a voice's pitch register, so two voices with the same timbre an octave-third
 * apart score like one person (issue 15: the same espeak variant at pitch 25 and 65 scored 6-7 against
 * each other, more than most voices against themselves). A person's habitual pitch is stable across
 * utterances within a few semitones, so a large gap is evidence that it is someone else; the decisions use
 * it only to refuse a name, never to give one.
 *
 * Written here rather than taken from a package: the npm pitch detectors (pitchfinder, pitchy) estimate
 * one frame at a time in a loop we would write anyway, and none picks voiced frames or a robust median.
 * Cost: the speech is resampled to 8 kHz (38 multiply-adds per output sample) and at most MAX_FRAMES
 * frames are searched for a period (about 11 M multiply-adds): about 15 ms for 10 s of speech (18 ms
 * measured at load 2); the resampling grows with the length (about 90 M multiply-adds for 300 s).
 */
import { SAMPLE_RATE } from './decode';
import type { SpeechSegment } from './vad';
import { resample } from './resample';
import { speechOnly } from './speaker';

const RATE = 8000;
const FRAME = 400; // 50 ms at 8 kHz: two periods of a 40 Hz voice
const HOP = 160; // 20 ms
const MIN_HZ = 60;
// Up to 600 Hz: children speak at 250-400 Hz with frames above; a lower bound would read those frames an
// octave down and split a child's voice between two registers.
const MAX_HZ = 600;
const MAX_FRAMES = 300;
/** YIN's absolute threshold on the normalised difference: below it a period counts as voiced. */
const THRESHOLD = 0.15;
/** Fewer voiced frames than this (0.2 s) and the estimate is not trusted. */
const MIN_VOICED_FRAMES = 10;

/** F0 of one frame in Hz, or null when it is not clearly periodic. */
function yinFrame(x: Float32Array, start: number, diff: Float32Array): number | null {
  const tauMin = Math.floor(RATE / MAX_HZ);
  const tauMax = Math.ceil(RATE / MIN_HZ);
  const window = FRAME - tauMax;
  diff[0] = 1;
  let running = 0;
  for (let tau = 1; tau <= tauMax; tau++) {
    let d = 0;
    for (let i = start; i < start + window; i++) {
      const delta = x[i] - x[i + tau];
      d += delta * delta;
    }
    running += d;
    diff[tau] = running > 0 ? (d * tau) / running : 1;
  }
  for (let tau = tauMin; tau < tauMax; tau++) {
    if (diff[tau] >= THRESHOLD) continue;
    while (tau + 1 < tauMax && diff[tau + 1] < diff[tau]) tau++;
    const [a, b, c] = [diff[tau - 1], diff[tau], diff[tau + 1]];
    const curvature = a + c - 2 * b;
    const shift = curvature > 0 ? (a - c) / (2 * curvature) : 0;
    return RATE / (tau + Math.max(-1, Math.min(1, shift)));
  }
  return null;
}

/** The median F0 (Hz) of the speech in the segments (16 kHz mono), or null with too little voiced speech. */
export function medianPitchHz(samples: Float32Array, segments?: SpeechSegment[]): number | null {
  // To 8 kHz with the package's own band-limited resampler (cutoff 3.4 kHz, so 4-8 kHz does not fold into F0).
  const x = resample(speechOnly(samples, segments), SAMPLE_RATE, RATE);
  const frames = Math.floor((x.length - FRAME) / HOP) + 1;
  if (frames < MIN_VOICED_FRAMES) return null;
  // Quiet frames (pauses inside a segment, word tails) are skipped: below a tenth of the median energy.
  const energy = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let e = 0;
    for (let i = f * HOP; i < f * HOP + FRAME; i++) e += x[i] * x[i];
    energy[f] = e;
  }
  const floor = 0.1 * [...energy].sort((a, b) => a - b)[Math.floor(frames / 2)];
  const step = Math.max(1, frames / MAX_FRAMES);
  const diff = new Float32Array(Math.ceil(RATE / MIN_HZ) + 1);
  const f0s: number[] = [];
  for (let at = 0; at < frames; at += step) {
    const f = Math.floor(at);
    if (energy[f] <= floor) continue;
    const hz = yinFrame(x, f * HOP, diff);
    if (hz !== null) f0s.push(hz);
  }
  if (f0s.length < MIN_VOICED_FRAMES) return null;
  f0s.sort((a, b) => a - b);
  return f0s[Math.floor(f0s.length / 2)];
}
