import { isGeminiConfigured, transcribeAndEnrich } from '../../shared/ai';
import { analyzeAudio, speakerEmbedding } from '../../shared/audio';
import { addVoiceSample, findPerson, type PersonView } from '../../shared/db/repositories/persons';
import type { Executor } from '../../shared/db/transaction';
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
  const analysis = await analyzeAudio(sample.audio.content);
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
