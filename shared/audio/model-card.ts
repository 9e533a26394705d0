/**
 * A speaker model's card: the calibration that belongs to that model and to no other (thresholds, the
 * minimum voiced speech, the margin, the impostor cohort for AS-norm), read from files beside the model:
 *
 *   speaker-x.onnx           the model (SPEAKER_MODEL_PATH or the default)
 *   speaker-x.card.json      its card (`calibration` holds the decision defaults; see README "Speaker decisions")
 *   speaker-x.cohort.f32     impostor embeddings, little-endian float32, `cohort.count` x `embedding_dim`
 *
 * A model without a card (a WeSpeaker export dropped in) still works: raw cosine scores, the threshold of
 * SPEAKER_MATCH_THRESHOLD (default 0.5) and conservative quality gates. Read once per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { config } from '../config';
import type { SpeakerPolicy } from '../domain/speaker-match';
import { unit, type Cohort } from '../domain/speaker-score';
import { speakerModelPath } from './models';

/** What decides who spoke, for one model; network settings override each value (see speakerPolicy). */
export type SpeakerCalibration = SpeakerPolicy;

export interface SpeakerModelCard {
  model: string;
  embeddingDim: number | undefined;
  calibration: SpeakerCalibration;
  cohort: Cohort | undefined;
  /** Where the card was read from; undefined when the model has none. */
  cardPath: string | undefined;
}

/** A model without a card: raw cosines, the WeSpeaker-ish threshold, strict gates. */
const UNCALIBRATED: SpeakerCalibration = {
  score: 'cosine',
  acceptScore: 0.5,
  degradedAcceptScore: 0.65,
  minMargin: 0.05,
  updateScore: 0.6,
  clusterScore: 0.5,
  mergeScore: 0.6,
  cosineFloor: 0.5,
  minVoicedSeconds: 1.0,
  minSnrDb: 12,
  maxClippingRatio: 0.01,
  // Telephone-band audio keeps < 0.00005 above 4 kHz, wideband speech 0.0004 and more (the evaluation sets).
  minHighBandRatio: 0.0001,
  // A voice's median pitch moves 1-2 semitones between utterances (synthetic voices: at most 2 in the
  // evaluation sets; people in conversation: a standard deviation of about 1.5); the same-timbre voices the
  // embedding confuses are 5-7 apart. Model-independent, so a card need not set it.
  maxPitchSemitones: 4,
  enrolMinVoicedSeconds: 1.0,
  newPersonSeconds: 3.0,
  newPersonUtterances: 2,
  maxEmbeddingsPerPerson: 8,
};

const stem = (modelPath: string) => modelPath.replace(/\.onnx$/i, '');
/** `<model>.card.json` beside the model. */
export const cardPathFor = (modelPath: string) => `${stem(modelPath)}.card.json`;
/** `<model>.cohort.f32` beside the model (a card may name another file in its folder). */
export const cohortPathFor = (modelPath: string) => `${stem(modelPath)}.cohort.f32`;

const num = (value: unknown, fallback: number) =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

/** Reads a card (and its cohort) for a model file; exported for tests and the card script. */
export function readModelCard(modelPath: string): SpeakerModelCard {
  // `<model>.card.json`, else `<model>.json`.
  const cardPath =
    [cardPathFor(modelPath), `${stem(modelPath)}.json`].find((p) => existsSync(p)) ?? cardPathFor(modelPath);
  const model = modelPath.split(/[\\/]/).pop() ?? modelPath;
  const envCosine = config().audio.speakerMatchThreshold;
  if (!existsSync(cardPath)) {
    const floor = envCosine ?? UNCALIBRATED.cosineFloor;
    return {
      model,
      embeddingDim: undefined,
      calibration: {
        ...UNCALIBRATED,
        cosineFloor: floor,
        acceptScore: Math.max(floor, UNCALIBRATED.acceptScore),
      },
      cohort: undefined,
      cardPath: undefined,
    };
  }
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as {
    embedding_dim?: number;
    cohort?: { file?: string; count?: number; top_n?: number };
    calibration?: Record<string, unknown>;
  };
  const c = card.calibration ?? {};
  let cohort: Cohort | undefined;
  const dim = card.embedding_dim;
  const cohortFile = card.cohort?.file
    ? join(dirname(modelPath), card.cohort.file)
    : cohortPathFor(modelPath);
  if (dim && existsSync(cohortFile)) {
    const vectors = readCohort(cohortFile);
    const count = Math.floor(vectors.length / dim);
    // Unit length, whatever wrote it: the scores are dot products.
    for (let i = 0; i < count; i++) vectors.set(unit(vectors.subarray(i * dim, (i + 1) * dim)), i * dim);
    cohort = { dim, count, vectors: vectors.subarray(0, count * dim), topN: num(card.cohort?.top_n, 50) };
  }
  const score = c.score === 'as-norm' && cohort ? 'as-norm' : 'cosine';
  // A card calibrated for AS-norm whose cohort is missing: its scores mean nothing on raw cosines.
  const usable = score === 'as-norm' || c.score !== 'as-norm';
  const pick = (key: string, fallback: number) => (usable ? num(c[key], fallback) : fallback);
  const calibration: SpeakerCalibration = {
    score,
    acceptScore: pick('accept_score', UNCALIBRATED.acceptScore),
    degradedAcceptScore: pick('degraded_accept_score', UNCALIBRATED.degradedAcceptScore),
    minMargin: pick('min_margin', UNCALIBRATED.minMargin),
    updateScore: pick('update_score', UNCALIBRATED.updateScore),
    clusterScore: pick('cluster_score', UNCALIBRATED.clusterScore),
    mergeScore: pick('merge_score', UNCALIBRATED.mergeScore),
    cosineFloor: envCosine ?? pick('cosine_floor', UNCALIBRATED.cosineFloor),
    minVoicedSeconds: pick('min_voiced_seconds', UNCALIBRATED.minVoicedSeconds),
    minSnrDb: pick('min_snr_db', UNCALIBRATED.minSnrDb),
    maxClippingRatio: pick('max_clipping_ratio', UNCALIBRATED.maxClippingRatio),
    minHighBandRatio: pick('min_high_band_ratio', UNCALIBRATED.minHighBandRatio),
    maxPitchSemitones: pick('max_pitch_semitones', UNCALIBRATED.maxPitchSemitones),
    enrolMinVoicedSeconds: pick('enrol_min_voiced_seconds', UNCALIBRATED.enrolMinVoicedSeconds),
    newPersonSeconds: pick('new_person_seconds', UNCALIBRATED.newPersonSeconds),
    newPersonUtterances: Math.max(2, pick('new_person_utterances', UNCALIBRATED.newPersonUtterances)),
    maxEmbeddingsPerPerson: Math.max(
      1,
      pick('max_embeddings_per_person', UNCALIBRATED.maxEmbeddingsPerPerson),
    ),
  };
  return { model, embeddingDim: dim, calibration, cohort, cardPath };
}

/**
 * A cohort file: little-endian float32 rows (`.f32`, `.bin`), or JSON (an array of embeddings, or
 * `{embeddings: [...]}`), as a training script in another language may find easier to write.
 */
function readCohort(file: string): Float32Array {
  if (file.endsWith('.json')) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as number[][] | { embeddings: number[][] };
    const rows = Array.isArray(parsed) ? parsed : parsed.embeddings;
    return Float32Array.from(rows.flat());
  }
  // Copied into an aligned buffer: a Buffer from the pool may start at any byte offset.
  return new Float32Array(new Uint8Array(readFileSync(file)).buffer);
}

const cards = new Map<string, SpeakerModelCard>();

/** The card of the speaker model in use (SPEAKER_MODEL_PATH or the default), read once per model file. */
export function speakerModelCard(): SpeakerModelCard {
  const path = speakerModelPath();
  let card = cards.get(path);
  if (!card) {
    card = readModelCard(path);
    cards.set(path, card);
  }
  return card;
}

/** The card's files that ship beside the model in a bundle (the card and the cohort it names, if they exist). */
export function modelCardFiles(modelPath: string): string[] {
  const card = [cardPathFor(modelPath), `${stem(modelPath)}.json`].find((p) => existsSync(p));
  if (!card) return [];
  const named = (JSON.parse(readFileSync(card, 'utf8')) as { cohort?: { file?: string } }).cohort?.file;
  const cohort = named ? join(dirname(modelPath), named) : cohortPathFor(modelPath);
  return [card, ...(existsSync(cohort) ? [cohort] : [])];
}
