/**
 * The persons context's use cases: enrolling voice samples, renaming, and telling who spoke an utterance
 * (the interactions pipeline asks it, inside its storing transaction).
 */
import type { Transaction } from 'kysely';
import { isGeminiConfigured, transcribeAndEnrich } from '../../shared/ai';
import { analyzeAudio, AudioError, speakerEmbedding } from '../../shared/audio';
import { speakerModelCard } from '../../shared/audio/model-card';
import { tonality } from '../../shared/audio/quality';
import {
  createPerson,
  findPerson,
  renamePerson,
  type PersonView,
} from '../../shared/db/repositories/persons';
import { inTransaction, type Executor } from '../../shared/db/transaction';
import type { Database, JsonObject } from '../../shared/db/types';
import type { SpeakerPolicy, UtteranceEvidence } from '../../shared/domain/speaker-match';
import { matchExpectedText } from '../../shared/domain/text-match';
import { HttpError, httpError, networkNotFound, noSpeech, personNotFound } from '../../shared/errors';
import type { UploadedFile } from '../../shared/http/route';
import { countMetric, logger } from '../../shared/observability';
import { findNetwork, mergeNetworkSettings } from '../../shared/db/repositories/networks';
import {
  listMergeProposals,
  personsWithOtherModelEmbeddings,
} from '../../shared/db/repositories/voiceprints';
import {
  decideAndRecord,
  enrolEmbedding,
  reclusterSpeakers,
  SPEAKER_SETTINGS,
  speakerEvidence,
  speakerPolicy,
  type ResolvedSpeaker,
} from './speakers';

export { speakerEvidence, speakerPolicy, type ResolvedSpeaker } from './speakers';

/** Above this tonality (shared/audio/quality.ts) a sample is music or tones, not a voice. */
const MAX_VOICE_TONALITY = 0.95;

/** The sample's transcript is not the text the person was asked to read: someone else, or another sentence. */
export class VoiceTextMismatchError extends HttpError {
  constructor(expectedText: string, transcript: string, similarity: number) {
    super(
      'VOICE_TEXT_MISMATCH',
      'The recording does not say the expected text; the voice sample was not enrolled',
      { extra: { expected_text: expectedText, transcript, similarity } },
    );
    this.name = 'VoiceTextMismatchError';
  }
}

export interface VoiceEnrolment {
  audio: UploadedFile;
  /** What the person was asked to say; checked against a transcript when Gemini is configured. */
  expectedText?: string;
  /** A new name, stored in the same transaction as the voiceprint. */
  name?: string;
  /** The network's settings (speaker_enrol_min_voiced_seconds...); the model card's defaults without. */
  settings?: JsonObject;
}

/**
 * Adds one voice sample to a person's voiceprint: VAD (no speech: 422 NO_SPEECH; too little: the audio
 * package's 422 AUDIO_TOO_SHORT), the speaker embedding, an optional check that the sample says the
 * expected text, then the running-mean voiceprint in one transaction. Nothing is written on any refusal.
 *
 * Without GEMINI_API_KEY the expected text cannot be checked and is ignored: enrolment still works
 * offline, as the text check guards against a wrong recording, not against an attacker.
 */
export async function enrolVoiceSample(
  db: Executor,
  networkId: string,
  personId: string,
  sample: VoiceEnrolment,
): Promise<PersonView> {
  // Cheap check first: an unknown person should not cost an audio analysis (or a model call).
  if (!(await findPerson(db, networkId, personId))) throw personNotFound();
  const analysis = await analyzeAudio(sample.audio.content, { pcm16Fallback: true });
  if (analysis.vad.segments.length === 0)
    throw noSpeech('No speech was found in the audio; record the person speaking');
  const policy = speakerPolicy(sample.settings ?? (await findNetwork(db, networkId))?.settings ?? {});
  const evidence = speakerEvidence(analysis);
  // A voiceprint made of too little speech, or of music, would match the wrong people for ever after.
  if (evidence.voicedSeconds < policy.enrolMinVoicedSeconds)
    throw new AudioError(
      'AUDIO_TOO_SHORT',
      `A voice sample needs at least ${policy.enrolMinVoicedSeconds} s of speech; this one has ${evidence.voicedSeconds.toFixed(2)} s`,
    );
  const tonal = tonality(analysis.samples, analysis.vad.segments);
  if (tonal > MAX_VOICE_TONALITY) {
    logger.info('voice sample refused: music-like spectrum', { tonality: tonal });
    throw httpError(
      'VOICE_SAMPLE_NOT_SPEECH',
      'The sample sounds like music or tones (its power sits in a few pure tones), not a voice; record the person speaking without music',
      { extra: { tonality: tonal } },
    );
  }
  // analyzeAudio leaves the embedding null when there is too little speech; asking the package for it
  // then gives its own AUDIO_TOO_SHORT answer.
  const embedding = analysis.embedding ?? (await speakerEmbedding(analysis.samples, analysis.vad.segments));

  const expected = sample.expectedText?.trim();
  if (expected && isGeminiConfigured()) {
    const { text } = await transcribeAndEnrich(analysis.samples);
    const match = matchExpectedText(expected, text);
    if (!match.matches) {
      logger.info('voice sample refused: transcript differs', { similarity: match.similarity });
      throw new VoiceTextMismatchError(expected, text, match.similarity);
    }
  }

  const person = await inTransaction(db, async (trx) => {
    if (sample.name && !(await renamePerson(trx, networkId, personId, sample.name))) return undefined;
    if (!(await findPerson(trx, networkId, personId))) return undefined;
    await enrolEmbedding(
      trx,
      networkId,
      personId,
      embedding,
      evidence.voicedSeconds,
      policy,
      evidence.pitchHz,
    );
    return findPerson(trx, networkId, personId);
  });
  // Deleted between the check and the write.
  if (!person) throw personNotFound();
  countMetric('VoiceSamplesEnrolled');
  return person;
}

/** Enrols someone before they speak (the next index); `onStored` runs in the same transaction. */
export const addPerson = (
  db: Executor,
  networkId: string,
  name: string,
  onStored?: (trx: Executor, person: PersonView) => Promise<void>,
): Promise<PersonView> =>
  inTransaction(db, async (trx) => {
    const person = await createPerson(trx, networkId, name);
    await onStored?.(trx, person);
    return person;
  });

export interface PersonUpdate {
  /** A voice sample to enrol (with the rename, if any, in its transaction). */
  audio?: UploadedFile;
  expectedText?: string;
  name?: string;
}

/** PATCH and POST .../update: a voice sample (with the rename in its transaction), a rename, or nothing. */
export async function updatePerson(
  db: Executor,
  networkId: string,
  personId: string,
  update: PersonUpdate,
): Promise<PersonView> {
  const person = update.audio
    ? await enrolVoiceSample(db, networkId, personId, {
        audio: update.audio,
        expectedText: update.expectedText,
        name: update.name,
      })
    : update.name
      ? await renamePerson(db, networkId, personId, update.name)
      : await findPerson(db, networkId, personId);
  if (!person) throw personNotFound();
  return person;
}

/**
 * @public (kept for callers that pass one threshold to resolveSpeaker)
 * The cosine floor for a voice match: the network's `speaker_match_threshold` setting, else the model
 * card's (SPEAKER_MATCH_THRESHOLD overrides it). Decisions use the whole policy (speakerPolicy); this is
 * the one number older callers pass.
 */
export function matchThreshold(settings: JsonObject): number {
  const value = Number(settings.speaker_match_threshold);
  return Number.isFinite(value) && value > 0 && value < 1
    ? value
    : speakerModelCard().calibration.cosineFloor;
}

/**
 * Who spoke, inside the caller's storing transaction and under the network's person lock (so two
 * concurrent utterances of a new voice cannot both create a person). Open-set: a person only on a clear
 * match; a clean unknown voice goes to a provisional cluster, and becomes "Person N" once the cluster has
 * enough confident speech over at least two utterances; a short, noisy or clipped utterance never creates
 * a person nor changes a voiceprint. `input` is speakerEvidence(analysis) or (as before) the bare
 * embedding; `policy` is speakerPolicy(settings) or (as before) matchThreshold(settings).
 */
export function resolveSpeaker(
  trx: Transaction<Database>,
  networkId: string,
  input: Float32Array | UtteranceEvidence | null,
  policy: SpeakerPolicy | number,
): Promise<ResolvedSpeaker> {
  return decideAndRecord(trx, networkId, input, policy);
}

type SpeakerSettingKey = keyof typeof SPEAKER_SETTINGS;

/** A policy as the settings' keys (the names a network's settings use). */
const asSettings = (policy: SpeakerPolicy) =>
  Object.fromEntries(Object.entries(SPEAKER_SETTINGS).map(([key, field]) => [key, policy[field]])) as Record<
    SpeakerSettingKey,
    number
  >;

/** The speaker decision settings of a network: what decides now, the model card's defaults, the overrides. */
export async function speakerSettings(db: Executor, networkId: string) {
  const network = await findNetwork(db, networkId);
  if (!network) throw networkNotFound();
  const card = speakerModelCard();
  const defaults = asSettings(speakerPolicy({}));
  const effective = asSettings(speakerPolicy(network.settings ?? {}));
  return {
    model: card.model,
    score: card.calibration.score,
    calibrated: !!card.cardPath,
    effective,
    model_defaults: defaults,
    overrides: Object.fromEntries(
      Object.entries(effective).filter(([k, v]) => defaults[k as SpeakerSettingKey] !== v),
    ),
    persons_to_re_enrol: card.embeddingDim
      ? await personsWithOtherModelEmbeddings(db, networkId, card.embeddingDim)
      : [],
  };
}

/** Sets (or, with null, removes) a network's speaker decision overrides. */
export async function updateSpeakerSettings(
  db: Executor,
  networkId: string,
  changes: Partial<Record<SpeakerSettingKey, number | null>>,
) {
  const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  if (!(await mergeNetworkSettings(db, networkId, defined))) throw networkNotFound();
  return speakerSettings(db, networkId);
}

/** Runs the re-clustering of a network now (it also runs by itself; see reclusterSpeakers). */
export async function reclusterNetwork(db: Executor, networkId: string) {
  const network = await findNetwork(db, networkId);
  if (!network) throw networkNotFound();
  return inTransaction(db, (trx) => reclusterSpeakers(trx, networkId, speakerPolicy(network.settings ?? {})));
}

/** Pairs of persons that sound like one voice, best first: merge them by hand (or rename) if they are. */
export async function mergeProposals(db: Executor, networkId: string) {
  return (await listMergeProposals(db, networkId)).map((p) => ({
    person_ids: [p.personA, p.personB] as [string, string],
    score: p.score,
    created_at: p.createdAt.toISOString(),
  }));
}
