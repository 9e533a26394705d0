/**
 * Warming the audio models while a cold Lambda instance serves its first request.
 *
 * Creating the two ONNX sessions (VAD and speaker) and their first inference cost about 250 ms of a cold
 * start (measured: sessions 170-190 ms, first VAD run +50 ms over a warm one, first speaker run +20 ms).
 * Started when the handler module loads, that work runs on onnxruntime's own threads while the first
 * request is parsed, its secrets are read and its database connection is opened, instead of after them.
 * It is not awaited at module scope: a top-level await would move the same cost into the init phase, on
 * the first request's clock all the same. Only inside Lambda: the local server and the tests load the
 * models when a route needs them, as before.
 */
import { config } from '../config';
import { logger } from '../observability';
import { NUM_MEL_BINS } from './fbank';
import { embedFbank } from './speaker';
import { speechProbabilities } from './vad';

let warming: Promise<void> | undefined;

/** Loads both model sessions and runs each once on silence; once per process. Never rejects. */
export function warmUpAudioModels(): Promise<void> {
  warming ??= Promise.all([
    speechProbabilities(new Float32Array(16_000 / 2)),
    // 50 frames: the shortest input the speaker models' convolutions take without padding trouble.
    embedFbank(new Float32Array(50 * NUM_MEL_BINS), 50),
  ]).then(
    () => undefined,
    // A missing or broken model is reported by the request that needs it, with its own error answer.
    (error: unknown) => logger.warn('audio model warm-up failed', { error }),
  );
  return warming;
}

/** `warmUpAudioModels()` when running inside Lambda; the audio contexts' handlers call it on load. */
export function warmUpAudioModelsInLambda(): void {
  if (config().lambdaFunctionName) void warmUpAudioModels();
}
