import type { AudioAnalysis } from '../../shared/audio';
import type { JsonObject } from '../../shared/db/types';
import type { WakeWordMatch } from '../../shared/domain/wake-word';
import type { ResolvedSpeaker } from '../persons/service';

const round = (value: number, digits = 3) => {
  const f = 10 ** digits;
  return Number.isFinite(value) ? Math.round(value * f) / f : 0;
};

export interface UtteranceFacts {
  analysis: AudioAnalysis;
  /** The copy's stream score, the one arbitration compared. */
  score: number;
  transcriptSource: 'client' | 'gemini';
  speaker: ResolvedSpeaker;
  wake: WakeWordMatch;
  /** Whether the wake word was accepted (the speaker may wake Mira). */
  isCommand: boolean;
}

/**
 * The `metadata` of a registered utterance: where its text came from, the audio and its quality, how the
 * speaker was decided and the wake word, so a client (and a person debugging) can see why Mira did what it
 * did. Never the embedding.
 */
export function utteranceMetadata(facts: UtteranceFacts): JsonObject {
  const { analysis, speaker, wake } = facts;
  const q = analysis.quality;
  return {
    source: 'register',
    transcript_source: facts.transcriptSource,
    audio: {
      format: analysis.audio.format,
      duration_s: round(analysis.audio.durationS),
      sample_rate_in: analysis.audio.sampleRateIn,
    },
    quality: {
      score: facts.score,
      snr_db: round(q.snrDb),
      speech_clarity: round(q.speechClarity),
      volume_rms: round(q.volumeRms, 5),
      noise_level: round(q.noiseLevel, 5),
      clipping_ratio: round(q.clippingRatio, 5),
      speech_ratio: round(q.speechRatio),
    },
    speaker: {
      outcome: speaker.outcome,
      ...(speaker.similarity !== undefined ? { similarity: speaker.similarity } : {}),
    },
    ...(wake.matched
      ? { wake_word: { wake_word: wake.wakeWord, score: round(wake.score), accepted: facts.isCommand } }
      : {}),
  };
}
