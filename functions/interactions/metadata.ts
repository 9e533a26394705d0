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
    speaker: speakerMetadata(speaker),
    ...(wake.matched
      ? { wake_word: { wake_word: wake.wakeWord, score: round(wake.score), accepted: facts.isCommand } }
      : {}),
  };
}

/**
 * How the speaker was decided: `outcome` (matched, new, unknown), the raw `similarity` and calibrated
 * `score` of the best candidate, the `margin` over the second-best, and for an unknown speaker the
 * `reason` (provisional, ambiguous, near_enrolled, pitch_mismatch, low_quality) with the `quality` problems;
 * `pitch_gap` the semitones between the utterance's pitch and the best candidate's; `cluster_id`
 * names the provisional cluster an unknown clean voice joined (its utterances are attributed to the
 * person it becomes).
 */
export function speakerMetadata(speaker: ResolvedSpeaker): JsonObject {
  const optional = {
    similarity: speaker.similarity,
    score: speaker.score,
    margin: speaker.margin,
    pitch_gap: speaker.pitchGap,
    reason: speaker.reason,
    quality: speaker.quality,
    cluster_id: speaker.clusterId,
    attributed_earlier: speaker.attributed,
    voiceprint_updated: speaker.updated,
  };
  return {
    outcome: speaker.outcome,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
