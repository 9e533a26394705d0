/**
 * Speaker embeddings: speech-only samples -> Kaldi fbank (mean-normalised) -> ONNX model with input
 * [1, T, 80] -> L2-normalised vector. The model is whatever SPEAKER_MODEL_PATH names (a WeSpeaker ResNet34
 * or CAM++ export fits as is) or the project's own default.
 */
import { cosine } from '../domain/speaker-match';
import { SAMPLE_RATE } from './decode';
import { AudioError } from './errors';
import { computeFbank, NUM_MEL_BINS } from './fbank';
import { getSession, loadOrt, speakerModelPath } from './models';
import type { SpeechSegment } from './vad';
import { config } from '../config';

/**
 * A raw-cosine threshold for comparing two embeddings of the default model by hand (`npm run audio --
 * compare`). Speaker DECISIONS do not use it: they use the model card's calibrated scores and margin
 * (shared/audio/model-card.ts, README "Speaker decisions"), because one cosine threshold does not hold across
 * voices and conditions (issue 15). SPEAKER_MATCH_THRESHOLD overrides it and the card's cosine floor.
 */
export const DEFAULT_SPEAKER_MATCH_THRESHOLD = 0.7;

/** The threshold for the model in use: SPEAKER_MATCH_THRESHOLD, else the default model's. */
export const speakerMatchThreshold = (): number =>
  config().audio.speakerMatchThreshold ?? DEFAULT_SPEAKER_MATCH_THRESHOLD;

/** At least this much speech (seconds) is needed for an embedding. */
export const MIN_EMBEDDING_SECONDS = 0.5;

/** The samples inside the segments, end to end; all of them when there are no segments. */
export function speechOnly(samples: Float32Array, segments?: SpeechSegment[]): Float32Array {
  if (!segments?.length) return samples;
  const parts = segments.map((s) =>
    samples.subarray(Math.max(0, Math.round(s.startS * SAMPLE_RATE)), Math.round(s.endS * SAMPLE_RATE)),
  );
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Runs the speaker model on a feature matrix (frames x 80) and L2-normalises its output. */
export async function embedFbank(data: Float32Array, frames: number): Promise<Float32Array> {
  const [ort, session] = await Promise.all([loadOrt(), getSession(speakerModelPath())]);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, frames, NUM_MEL_BINS]) };
  const out = await session.run(feeds);
  const raw = out[session.outputNames[0]].data as Float32Array;
  return l2Normalise(Float32Array.from(raw));
}

/** Speaker embedding of 16 kHz mono audio, from its speech segments when given. */
export async function speakerEmbedding(
  samples: Float32Array,
  segments?: SpeechSegment[],
): Promise<Float32Array> {
  const speech = speechOnly(samples, segments);
  if (speech.length < MIN_EMBEDDING_SECONDS * SAMPLE_RATE)
    throw new AudioError(
      'AUDIO_TOO_SHORT',
      `A voice sample needs at least ${MIN_EMBEDDING_SECONDS} s of speech; this one has ${(speech.length / SAMPLE_RATE).toFixed(2)} s`,
    );
  const { data, frames } = computeFbank(speech, true);
  return embedFbank(data, frames);
}

export function l2Normalise(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** Cosine similarity in [-1, 1]; 0 when either vector is all zeros. Lengths must match. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Embedding lengths differ: ${a.length} and ${b.length}`);
  return cosine(a, b);
}
