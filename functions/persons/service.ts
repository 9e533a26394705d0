/**
 * The persons context's use cases: enrolling voice samples, renaming, and telling who spoke an utterance
 * (the interactions pipeline asks it, inside its storing transaction).
 */
import type { Transaction } from 'kysely';
import { isGeminiConfigured, transcribeAndEnrich } from '../../shared/ai';
import { analyzeAudio, speakerEmbedding, speakerMatchThreshold } from '../../shared/audio';
import {
  addVoiceSample,
  createPerson,
  findPerson,
  renamePerson,
  type PersonView,
} from '../../shared/db/repositories/persons';
import { listVoiceprints, saveVoiceprint } from '../../shared/db/repositories/voiceprints';
import { advisoryLock, inTransaction, type Executor } from '../../shared/db/transaction';
import type { Database, JsonObject } from '../../shared/db/types';
import { matchSpeaker, updateVoiceprint } from '../../shared/domain/speaker-match';
import { matchExpectedText } from '../../shared/domain/text-match';
import { HttpError, noSpeech, personNotFound } from '../../shared/errors';
import type { UploadedFile } from '../../shared/http/route';
import { countMetric, logger } from '../../shared/observability';

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

  const person = await addVoiceSample(db, networkId, personId, { embedding, name: sample.name });
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

/** Who spoke an utterance, as the interactions pipeline records it. */
export interface ResolvedSpeaker {
  outcome: 'matched' | 'new' | 'unknown';
  personId: string | null;
  index: number | null;
  name: string | null;
  similarity?: number;
}

/** The threshold for a voice match: the network's `speaker_match_threshold` setting, else the model's default. */
export function matchThreshold(settings: JsonObject): number {
  const value = Number(settings.speaker_match_threshold);
  return Number.isFinite(value) && value > 0 && value < 1 ? value : speakerMatchThreshold();
}

/**
 * Who spoke, inside the caller's storing transaction and under the network's person lock, so two
 * concurrent utterances of a new voice cannot create two persons from stale voiceprints. A match folds the
 * embedding into that person's voiceprint; an unknown voice becomes "Person N"; without an embedding (too
 * little speech) the speaker stays unknown rather than guessed.
 */
export async function resolveSpeaker(
  trx: Transaction<Database>,
  networkId: string,
  embedding: Float32Array | null,
  threshold: number,
): Promise<ResolvedSpeaker> {
  if (!embedding) return { outcome: 'unknown', personId: null, index: null, name: null };
  await advisoryLock(trx, 'personIndex', networkId);
  const prints = await listVoiceprints(trx, networkId);
  const match = matchSpeaker(embedding, prints, threshold);
  if (match) {
    const print = prints.find((p) => p.personId === match.personId)!;
    const next = updateVoiceprint(print.embedding, print.sampleCount, embedding);
    await saveVoiceprint(trx, networkId, match.personId, next);
    const person = await findPerson(trx, networkId, match.personId);
    return {
      outcome: 'matched',
      personId: match.personId,
      index: match.index,
      name: person?.name ?? null,
      similarity: Math.round(match.similarity * 1000) / 1000,
    };
  }
  const voiceprint = updateVoiceprint(null, 0, embedding);
  // createPerson picks the next index under the same lock; the name follows from it.
  const person = await createPerson(trx, networkId, 'New person', { voice_embedding: voiceprint.embedding });
  const name = `Person ${person.index}`;
  await saveVoiceprint(trx, networkId, person.id, { ...voiceprint, name });
  return { outcome: 'new', personId: person.id, index: person.index, name };
}
