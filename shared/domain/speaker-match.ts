/**
 * Who spoke: an utterance's speaker embedding against the network's enrolled voiceprints.
 * Pure functions; the pipeline loads the voiceprints and stores the outcome.
 */

export interface Voiceprint {
  personId: string;
  index: number;
  /** The running mean of the person's embeddings (not necessarily unit length). */
  embedding: ArrayLike<number>;
  /** How many samples the mean is made of. */
  sampleCount: number;
}

export interface SpeakerMatch {
  personId: string;
  index: number;
  similarity: number;
}

/** Cosine similarity in [-1, 1]: 0 when either vector is all zeros, -1 (never a match) when the lengths differ. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) return -1;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * The enrolled person whose voiceprint is most similar to `embedding`, if that similarity reaches
 * `threshold`. Voiceprints of another dimension (a model switch) never match.
 */
export function matchSpeaker(
  embedding: ArrayLike<number>,
  voiceprints: Voiceprint[],
  threshold: number,
): SpeakerMatch | undefined {
  let best: SpeakerMatch | undefined;
  for (const print of voiceprints) {
    const similarity = cosine(embedding, print.embedding);
    if (similarity >= threshold && (!best || similarity > best.similarity)) {
      best = { personId: print.personId, index: print.index, similarity };
    }
  }
  return best;
}

/**
 * The voiceprint after one more sample: the running mean of L2-normalised embeddings, so every sample
 * weighs the same whatever its loudness. A voiceprint of another dimension is replaced.
 */
export function updateVoiceprint(
  current: ArrayLike<number> | null | undefined,
  sampleCount: number,
  embedding: ArrayLike<number>,
): { embedding: number[]; sampleCount: number } {
  const unit = normalise(embedding);
  if (!current || current.length !== unit.length || sampleCount <= 0)
    return { embedding: unit, sampleCount: 1 };
  const n = sampleCount + 1;
  const mean = unit.map((value, i) => current[i] + (value - current[i]) / n);
  return { embedding: mean, sampleCount: n };
}

function normalise(values: ArrayLike<number>): number[] {
  let norm = 0;
  for (let i = 0; i < values.length; i++) norm += values[i] * values[i];
  norm = Math.sqrt(norm) || 1;
  return Array.from(values, (v) => v / norm);
}
