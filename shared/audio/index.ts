/**
 * The audio-ML package: decode and validate uploads, 16 kHz mono resampling, Silero VAD, quality metrics
 * for stream selection, Kaldi fbank and speaker embeddings. Everything runs in-process on onnxruntime-node;
 * model files ship with the code (see ./models.ts for where they are looked up). Errors the caller should
 * answer with a 4xx are AudioErrors (HttpErrors), so a handler can simply let them propagate.
 *
 *   const result = await analyzeAudio(upload.content, { maxSeconds: 30 });
 *   if (result.vad.speechRatio === 0) ...;
 *   cosineSimilarity(result.embedding, person.voice_embedding) >= speakerMatchThreshold()
 */
import { decodeAudio, type DecodedAudio, type DecodeOptions } from './decode';
import { audioQualityScore, qualityMetrics, type QualityMetrics } from './quality';
import { MIN_EMBEDDING_SECONDS, speakerEmbedding, speechOnly } from './speaker';
import { medianPitchHz } from './pitch';
import { detectSpeech, type VadOptions, type VadResult } from './vad';
import { SAMPLE_RATE } from './decode';
import { traced, tracedSync } from '../observability/tracer';

export { AudioError } from './errors';
export { decodeAudio, type DecodedAudio, type DecodeOptions } from './decode';
export { resample } from './resample';
export { detectSpeech, segmentsFromProbabilities, type VadOptions, type VadResult } from './vad';
export { qualityMetrics, audioQualityScore, type QualityMetrics } from './quality';
export {
  speakerEmbedding,
  cosineSimilarity,
  speakerMatchThreshold,
  DEFAULT_SPEAKER_MATCH_THRESHOLD,
} from './speaker';
export { modelFiles } from './models';

export interface AnalyzeOptions extends DecodeOptions, VadOptions {
  /** Compute the speaker embedding (default true). It is skipped, as null, when there is too little speech. */
  embedding?: boolean;
  /**
   * The VAD result of an earlier analysis of the SAME bytes with the same options (the register accept's,
   * reused by its worker): the VAD is not run again. Decoding is deterministic, so the segments are the
   * ones the VAD would find.
   */
  vad?: Omit<VadResult, 'probabilities'>;
}

export interface AudioAnalysis {
  audio: Omit<DecodedAudio, 'samples'>;
  vad: Omit<VadResult, 'probabilities'>;
  quality: QualityMetrics;
  /** audioQualityScore(quality): 0..1, the stream score before location and RSSI. */
  score: number;
  /** L2-normalised speaker embedding of the speech parts; null when not asked for or too little speech. */
  embedding: Float32Array | null;
  /** Median F0 (Hz) of the speech, for the speaker decision's pitch veto; null when not measured. */
  pitchHz: number | null;
  /** 16 kHz mono samples, for callers that go on (transcription, storage). */
  samples: Float32Array;
}

/** Decode, VAD, quality and (when there is enough speech) the speaker embedding, in one call. */
export async function analyzeAudio(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<AudioAnalysis> {
  // Each stage is a subsegment in X-Ray (shared/observability/tracer.ts), so a slow upload shows which.
  const { samples, ...audio } = await traced('audio.decode', () => decodeAudio(bytes, options), {
    bytes: bytes.length,
  });
  let vad = options.vad;
  if (!vad) {
    const { probabilities: _probabilities, ...found } = await traced(
      'audio.vad',
      () => detectSpeech(samples, options),
      { seconds: samples.length / SAMPLE_RATE },
    );
    vad = found;
  }
  const quality = tracedSync('audio.quality', () => qualityMetrics(samples, vad));
  // The speech parts, cut out once for the embedding and the pitch.
  const speech = speechOnly(samples, vad.segments);
  const enoughSpeech = speech.length >= MIN_EMBEDDING_SECONDS * SAMPLE_RATE;
  const embedding =
    options.embedding !== false && vad.segments.length > 0 && enoughSpeech
      ? await traced('audio.embedding', () => speakerEmbedding(speech))
      : null;
  // Only with an embedding: the pitch serves the speaker decision alone (about 15 ms for 10 s of speech).
  const pitchHz = embedding ? tracedSync('audio.pitch', () => medianPitchHz(speech)) : null;
  return { audio, vad, quality, score: audioQualityScore(quality), embedding, pitchHz, samples };
}
