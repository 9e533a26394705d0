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

// ---- Open-set decisions (issue 15): quality gate, calibrated scores, margin, provisional clusters ----

/** The thresholds one decision uses: the model card's calibration with the network's overrides. */
export interface SpeakerPolicy {
  /** 'as-norm' with a cohort; 'cosine' without one (the scores below are then raw cosines). */
  score: 'as-norm' | 'cosine';
  /** A person is attributed from this score (best candidate), on a clean utterance. */
  acceptScore: number;
  /** The stricter score for a degraded utterance (short, noisy or clipped). */
  degradedAcceptScore: number;
  /** Best minus second-best person: below it the utterance stays unknown. */
  minMargin: number;
  /** A match adds an enrolment embedding from this score (and only from a clean utterance). */
  updateScore: number;
  /** An unknown voice joins a provisional cluster from this score. */
  clusterScore: number;
  /** Clusters merge, and persons are proposed for merging, from this score. */
  mergeScore: number;
  /** Raw cosine below which nothing matches whatever the normalised score. */
  cosineFloor: number;
  /** Voiced speech (VAD) an utterance needs to be clean. */
  minVoicedSeconds: number;
  /** SNR (dB) an utterance needs to be clean. */
  minSnrDb: number;
  /** Share of clipped samples above which an utterance is degraded. */
  maxClippingRatio: number;
  /** Share of speech power above 4 kHz below which an utterance is narrowband (telephone, muffled): degraded. */
  minHighBandRatio: number;
  /** Semitones between the utterance's median pitch and a candidate's above which the candidate is not
   * named (the pitch vetoes; it never names anyone). */
  maxPitchSemitones: number;
  /** Voiced speech an enrolment sample needs. */
  enrolMinVoicedSeconds: number;
  /** Confident voiced speech a provisional cluster needs before it becomes a person... */
  newPersonSeconds: number;
  /** ...across at least this many utterances. */
  newPersonUtterances: number;
  /** Enrolment embeddings kept per person (samples from enrolment are kept first). */
  maxEmbeddingsPerPerson: number;
}

/** What the audio says about an utterance, as far as the speaker decision cares. */
export interface UtteranceEvidence {
  embedding: Float32Array | null;
  voicedSeconds: number;
  snrDb: number;
  clippingRatio: number;
  /** Share of speech power above 4 kHz (QualityMetrics.highBandRatio); not checked when absent. */
  highBandRatio?: number;
  /** Median F0 (Hz) of the speech (shared/audio/pitch.ts); null or absent when not measured. */
  pitchHz?: number | null;
}

export type QualityReason = 'too_short' | 'too_noisy' | 'clipped' | 'narrowband' | 'no_embedding';

/** Why an utterance is degraded (empty when it is clean enough to create and update voiceprints). */
export function qualityReasons(evidence: UtteranceEvidence, policy: SpeakerPolicy): QualityReason[] {
  const reasons: QualityReason[] = [];
  if (!evidence.embedding) reasons.push('no_embedding');
  if (evidence.voicedSeconds < policy.minVoicedSeconds) reasons.push('too_short');
  if (evidence.snrDb < policy.minSnrDb) reasons.push('too_noisy');
  if (evidence.clippingRatio > policy.maxClippingRatio) reasons.push('clipped');
  if (evidence.highBandRatio !== undefined && evidence.highBandRatio < policy.minHighBandRatio)
    reasons.push('narrowband');
  return reasons;
}

/** A person or a cluster with its embeddings (unit length, row after row) and their cohort statistics. */
export interface SpeakerCandidate {
  id: string;
  vectors: Float32Array;
  /** mean, std per vector. */
  stats: Float32Array;
  count: number;
  /** The pitches (Hz) measured on the speech its vectors came from (unmeasured rows left out). */
  pitches?: readonly number[];
}

export interface CandidateScore {
  id: string;
  /** The calibrated score (AS-norm, or the cosine without a cohort): the best over the candidate's vectors. */
  score: number;
  /** The raw cosine of that best vector. */
  cosine: number;
  /** Semitones between the utterance's pitch and the candidate's, when both were measured. */
  pitchGap?: number;
}

/** The distance of two pitches in semitones. */
export const semitones = (aHz: number, bHz: number): number => Math.abs(12 * Math.log2(aHz / bHz));

/** The measured pitches among `values` (positive finite numbers only). */
export const measuredPitches = (values: Iterable<number | null | undefined>): number[] =>
  [...values].filter((p): p is number => typeof p === 'number' && Number.isFinite(p) && p > 0);

/**
 * Fewer measured vectors than this and the pitch vetoes nothing: one odd sample (a shout, an octave error
 * of the tracker) must not lock a person out, since a vetoed utterance never adds the row that would mend it.
 */
export const MIN_PITCHES_FOR_VETO = 2;

/**
 * Semitones from `pitchHz` to the NEAREST of a candidate's measured pitches (so a person heard over a range
 * keeps all of it), or undefined when either side was not measured well enough to veto.
 */
export function pitchGap(pitchHz: number | null | undefined, pitches: readonly number[] | undefined) {
  if (!pitchHz || !(pitchHz > 0) || !pitches || pitches.length < MIN_PITCHES_FOR_VETO) return undefined;
  return Math.min(...pitches.map((p) => semitones(pitchHz, p)));
}

/** The same between two candidates: their nearest pair of measured pitches, each side measured well enough. */
export function pitchGapBetween(a: readonly number[] | undefined, b: readonly number[] | undefined) {
  if (!a || a.length < MIN_PITCHES_FOR_VETO) return undefined;
  const gaps = a.map((p) => pitchGap(p, b)).filter((g): g is number => g !== undefined);
  return gaps.length ? Math.min(...gaps) : undefined;
}

/**
 * Each candidate's score against the utterance: the best over its vectors, AS-normalised with the test
 * side's statistics `test` and each vector's own. Sorted best first. Cost: one dot product per stored vector.
 */
export function scoreCandidates(
  embedding: Float32Array,
  test: { mean: number; std: number },
  candidates: Iterable<SpeakerCandidate>,
  mode: 'as-norm' | 'cosine',
  pitchHz?: number | null,
): CandidateScore[] {
  const dim = embedding.length;
  const out: CandidateScore[] = [];
  for (const c of candidates) {
    if (c.vectors.length !== c.count * dim) continue;
    let best: CandidateScore | undefined;
    for (let k = 0; k < c.count; k++) {
      let cos = 0;
      const base = k * dim;
      for (let i = 0; i < dim; i++) cos += embedding[i] * c.vectors[base + i];
      const score =
        mode === 'as-norm'
          ? 0.5 * ((cos - test.mean) / test.std + (cos - c.stats[2 * k]) / c.stats[2 * k + 1])
          : cos;
      if (!best || score > best.score) best = { id: c.id, score, cosine: cos };
    }
    const gap = best && pitchGap(pitchHz, c.pitches);
    if (best && gap !== undefined) best.pitchGap = gap;
    if (best) out.push(best);
  }
  return out.sort((a, b) => b.score - a.score);
}

export type SpeakerDecision =
  | {
      kind: 'matched';
      personId: string;
      score: number;
      margin: number | null;
      update: boolean;
      degraded: QualityReason[];
    }
  | {
      kind: 'unknown';
      reason: 'low_quality' | 'ambiguous' | 'near_enrolled' | 'pitch_mismatch';
      degraded: QualityReason[];
      best?: CandidateScore;
    }
  | { kind: 'cluster'; clusterId: string | null; score: number | null };

/**
 * Who spoke, decided open-set: a person only on a clear match (above the accept score, or the stricter
 * degraded one for a short, noisy or clipped utterance, and by the margin over the second-best person);
 * a clean utterance of nobody enrolled goes to the nearest provisional cluster (or a new one); anything
 * else stays unknown, with the reason. A candidate whose pitch is further than `maxPitchSemitones` from
 * the utterance's is never named, and still counts as the second-best for the margin: when the embedding
 * says "most like Ana" and the pitch says "not Ana", the next person is not named instead.
 */
export function decideSpeaker(
  persons: CandidateScore[],
  clusters: CandidateScore[],
  degraded: QualityReason[],
  policy: SpeakerPolicy,
): SpeakerDecision {
  const vetoed = (c: CandidateScore) => c.pitchGap !== undefined && c.pitchGap > policy.maxPitchSemitones;
  const best = persons.find((c) => !vetoed(c));
  // The best other candidate, vetoed or not (negative margin when a vetoed one scores higher).
  const second = persons.find((c) => c !== best);
  const bar = degraded.length ? policy.degradedAcceptScore : policy.acceptScore;
  const margin = best && second ? best.score - second.score : null;
  if (best && best.score >= policy.acceptScore && best.cosine >= policy.cosineFloor) {
    if (margin !== null && margin < policy.minMargin)
      return { kind: 'unknown', reason: 'ambiguous', degraded, best };
    if (best.score < bar) return { kind: 'unknown', reason: 'low_quality', degraded, best };
    return {
      kind: 'matched',
      personId: best.id,
      score: best.score,
      margin,
      update: degraded.length === 0 && best.score >= policy.updateScore,
      degraded,
    };
  }
  if (degraded.length) return { kind: 'unknown', reason: 'low_quality', degraded, ...(best ? { best } : {}) };
  // Sounds like someone but at another pitch: not them, and not a new person either (it may be them after
  // all, at a pitch they seldom use), so no cluster.
  const top = persons[0];
  if (top && vetoed(top) && top.score >= policy.acceptScore - 1 && top.cosine >= policy.cosineFloor)
    return { kind: 'unknown', reason: 'pitch_mismatch', degraded, best: top };
  // Close to someone enrolled but not clearly them: neither a match nor a new voice.
  if (best && best.score >= policy.acceptScore - 1 && best.cosine >= policy.cosineFloor)
    return { kind: 'unknown', reason: 'near_enrolled', degraded, best };
  const cluster = clusters.find((c) => !vetoed(c));
  if (cluster && cluster.score >= policy.clusterScore && cluster.cosine >= policy.cosineFloor)
    return { kind: 'cluster', clusterId: cluster.id, score: cluster.score };
  return { kind: 'cluster', clusterId: null, score: null };
}
