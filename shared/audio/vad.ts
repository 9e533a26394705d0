/**
 * Voice activity with Silero VAD v5: one speech probability per 32 ms frame, turned into segments with the
 * hysteresis and minimum durations of silero-vad's own `get_speech_timestamps`.
 */
import { getSession, loadOrt, vadModelPath } from './models';
import { SAMPLE_RATE } from './decode';

export interface SpeechSegment {
  startS: number;
  endS: number;
}

export interface VadResult {
  segments: SpeechSegment[];
  /** Share of the audio inside speech segments, 0..1. */
  speechRatio: number;
  /** Speech probability per 512-sample frame (32 ms). */
  probabilities: Float32Array;
}

export interface VadOptions {
  /** A frame is speech from this probability (default 0.5)... */
  threshold?: number;
  /** ...and stays speech until it drops below this one (default threshold - 0.15). */
  negThreshold?: number;
  minSpeechMs?: number;
  minSilenceMs?: number;
  speechPadMs?: number;
}

const FRAME = 512;
/** v5 sees the last 64 samples of the previous frame too (silero-vad's OnnxWrapper does the same). */
const CONTEXT = 64;

/** Speech probability of each 512-sample frame of 16 kHz audio; the last partial frame is zero-padded. */
export async function speechProbabilities(samples: Float32Array): Promise<Float32Array> {
  const [ort, session] = await Promise.all([loadOrt(), getSession(vadModelPath())]);
  const frames = Math.ceil(samples.length / FRAME);
  const probabilities = new Float32Array(frames);
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);
  // The recurrent state: each frame's output state is the next frame's input.
  let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const input = new Float32Array(CONTEXT + FRAME);
  // One tensor over `input`, refilled in place for every frame (each run finishes before the next fill).
  const inputTensor = new ort.Tensor('float32', input, [1, CONTEXT + FRAME]);
  for (let f = 0; f < frames; f++) {
    const start = f * FRAME;
    // input = last CONTEXT samples before this frame, then the frame (zero-padded at the end).
    for (let i = 0; i < CONTEXT; i++) {
      const j = start - CONTEXT + i;
      input[i] = j >= 0 ? samples[j] : 0;
    }
    const end = Math.min(start + FRAME, samples.length);
    input.set(samples.subarray(start, end), CONTEXT);
    if (end - start < FRAME) input.fill(0, CONTEXT + end - start);
    const out = await session.run({ input: inputTensor, state, sr });
    state = out.stateN as typeof state;
    probabilities[f] = (out.output.data as Float32Array)[0];
  }
  return probabilities;
}

/** Segments from frame probabilities (pure, so its rules are tested without the model). */
export function segmentsFromProbabilities(
  probabilities: Float32Array,
  totalSamples: number,
  options: VadOptions = {},
): SpeechSegment[] {
  const threshold = options.threshold ?? 0.5;
  const negThreshold = options.negThreshold ?? Math.max(threshold - 0.15, 0.01);
  const minSpeech = ((options.minSpeechMs ?? 250) * SAMPLE_RATE) / 1000;
  const minSilence = ((options.minSilenceMs ?? 100) * SAMPLE_RATE) / 1000;
  const pad = ((options.speechPadMs ?? 30) * SAMPLE_RATE) / 1000;

  const raw: Array<{ start: number; end: number }> = [];
  let triggered = false;
  let start = 0;
  let silenceSince = -1;
  for (let f = 0; f < probabilities.length; f++) {
    const p = probabilities[f];
    const at = f * FRAME;
    if (p >= threshold) silenceSince = -1;
    if (p >= threshold && !triggered) {
      triggered = true;
      start = at;
    } else if (p < negThreshold && triggered) {
      if (silenceSince < 0) silenceSince = at;
      if (at - silenceSince >= minSilence) {
        if (silenceSince - start >= minSpeech) raw.push({ start, end: silenceSince });
        triggered = false;
        silenceSince = -1;
      }
    }
  }
  if (triggered && totalSamples - start >= minSpeech) raw.push({ start, end: totalSamples });

  // Pad each segment, at most to the middle of the gap to its neighbour and never past the signal's ends.
  return raw.map((s, i) => {
    const gapBefore = i > 0 ? (raw[i - 1].end + s.start) / 2 : 0;
    const gapAfter = i < raw.length - 1 ? (s.end + raw[i + 1].start) / 2 : totalSamples;
    const a = Math.max(gapBefore, s.start - pad);
    const b = Math.min(gapAfter, s.end + pad);
    return { startS: round3(a / SAMPLE_RATE), endS: round3(b / SAMPLE_RATE) };
  });
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Speech segments and speech ratio of 16 kHz mono audio. */
export async function detectSpeech(samples: Float32Array, options: VadOptions = {}): Promise<VadResult> {
  if (samples.length === 0) return { segments: [], speechRatio: 0, probabilities: new Float32Array(0) };
  const probabilities = await speechProbabilities(samples);
  const segments = segmentsFromProbabilities(probabilities, samples.length, options);
  const durationS = samples.length / SAMPLE_RATE;
  const speechS = segments.reduce((sum, s) => sum + (s.endS - s.startS), 0);
  return { segments, speechRatio: Math.min(1, speechS / durationS), probabilities };
}
