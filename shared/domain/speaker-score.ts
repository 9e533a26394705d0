/**
 * Calibrated speaker scores: adaptive symmetric score normalisation (AS-norm) against a cohort of impostor
 * embeddings shipped with the model. A raw cosine means different things for different voices (two
 * low-pitched voices score high against each other with a pitch-tracking model) and for different models;
 * AS-norm measures how far a score stands above what each side scores against strangers, so one threshold
 * holds across voices and the same code serves any model with a cohort. Pure functions.
 */

/** How one embedding scores against the impostor cohort: the mean and spread of its top-N cosines. */
export interface CohortStats {
  mean: number;
  std: number;
}

/** A cohort of impostor embeddings, unit length, row after row (count x dim). */
export interface Cohort {
  dim: number;
  count: number;
  vectors: Float32Array;
  /** How many of the closest impostors the statistics use (the "adaptive" part of AS-norm). */
  topN: number;
}

/** Dot product of two unit vectors (the cosine); -1 when the lengths differ (a model switch never matches). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>, bOffset = 0, length = a.length): number {
  if (b.length - bOffset < length || a.length !== length) return -1;
  let sum = 0;
  for (let i = 0; i < length; i++) sum += a[i] * b[bOffset + i];
  return sum;
}

/** A copy of `values` scaled to unit length (all zeros stays all zeros). */
export function unit(values: ArrayLike<number>): Float32Array {
  let norm = 0;
  for (let i = 0; i < values.length; i++) norm += values[i] * values[i];
  norm = Math.sqrt(norm) || 1;
  // A plain loop: Float32Array.from with a map function goes through the iterator protocol (slow in V8).
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] / norm;
  return out;
}

/** The statistics of an embedding's top-N cosines against the cohort; a neutral (0, 1) without a cohort. */
export function cohortStats(embedding: ArrayLike<number>, cohort: Cohort | undefined): CohortStats {
  if (!cohort || cohort.count === 0 || cohort.dim !== embedding.length) return { mean: 0, std: 1 };
  const scores = new Float64Array(cohort.count);
  for (let i = 0; i < cohort.count; i++)
    scores[i] = dot(embedding, cohort.vectors, i * cohort.dim, cohort.dim);
  scores.sort();
  const n = Math.max(1, Math.min(cohort.topN, cohort.count));
  let mean = 0;
  for (let i = scores.length - n; i < scores.length; i++) mean += scores[i];
  mean /= n;
  let variance = 0;
  for (let i = scores.length - n; i < scores.length; i++) variance += (scores[i] - mean) ** 2;
  // A floor on the spread: a near-constant cohort must not turn a tiny difference into a huge score.
  return { mean, std: Math.max(Math.sqrt(variance / n), 0.01) };
}

/** The AS-norm score of a raw cosine between a test and an enrolment embedding, given both sides' stats. */
export function asNorm(raw: number, test: CohortStats, enrolled: CohortStats): number {
  return 0.5 * ((raw - test.mean) / test.std + (raw - enrolled.mean) / enrolled.std);
}
