/**
 * The stream quality score of the Python backend: a weighted sum of five components, each normalised to
 * 0..100, so the score is 0..100 too. The weights are the Python backend's; the normalisations are ours
 * (the Python code fed raw values of mixed units) and are documented on each function.
 */

export const SCORE_WEIGHTS = {
  snr: 0.3,
  speechClarity: 0.3,
  volume: 0.1,
  location: 0.15,
  rssi: 0.15,
} as const;

/** Score given to a component that was never measured: neutral, so missing data neither wins nor loses. */
export const UNKNOWN_COMPONENT_SCORE = 50;

/** A stream not updated for this long no longer competes for "best". */
export const STREAM_STALE_AFTER_SECONDS = 300;

export interface StreamLocation {
  latitude: number;
  longitude: number;
  /** Horizontal accuracy in metres, as phones report it. */
  accuracy?: number | null;
}

export interface StreamMetrics {
  /** Signal-to-noise ratio in dB. */
  snr: number;
  /** Share of the signal that is intelligible speech, 0..1. */
  speechClarity: number;
  /** RMS level as a fraction of full scale, 0..1. */
  volumeLevel: number;
  location?: StreamLocation | null;
  /** Received signal strength in dBm (phone to device). */
  rssi?: number | null;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
/** Linear map of `value` from [from, to] onto 0..100, clamped. */
const linear = (value: number, from: number, to: number) =>
  clamp(((value - from) / (to - from)) * 100, 0, 100);
const finite = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** SNR: 0 dB (speech as loud as noise) -> 0, 40 dB (studio-clean) -> 100. */
export const normaliseSnr = (snrDb: number): number => (finite(snrDb) ? linear(snrDb, 0, 40) : 0);

/** Speech clarity: a 0..1 fraction -> 0..100. */
export const normaliseClarity = (clarity: number): number => (finite(clarity) ? linear(clarity, 0, 1) : 0);

/**
 * Volume: RMS as a fraction of full scale, judged in dBFS. Below -60 dBFS is silence (0); -60..-20 dBFS
 * rises linearly to 100; -20..-6 dBFS is the comfortable range (100); above -6 dBFS the signal nears
 * clipping and falls linearly to 50 at 0 dBFS, so a clipping device does not beat a clean one.
 */
export function normaliseVolume(rms: number): number {
  if (!finite(rms) || rms <= 0) return 0;
  const dbfs = 20 * Math.log10(Math.min(rms, 1));
  if (dbfs < -20) return linear(dbfs, -60, -20);
  if (dbfs <= -6) return 100;
  return 100 - (50 * (dbfs + 6)) / 6;
}

/**
 * Location: how precisely the phone (and so the listener) is placed. Accuracy of 5 m or better -> 100,
 * 100 m or worse -> 0, linear between. A location without accuracy, or no location, is unknown (neutral).
 */
export function normaliseLocation(location: StreamLocation | null | undefined): number {
  if (!location || !finite(location.accuracy)) return UNKNOWN_COMPONENT_SCORE;
  return 100 - linear(location.accuracy, 5, 100);
}

/** RSSI: -100 dBm (barely connected, far away) -> 0, -30 dBm (right next to it) -> 100; unknown is neutral. */
export const normaliseRssi = (rssi: number | null | undefined): number =>
  finite(rssi) ? linear(rssi, -100, -30) : UNKNOWN_COMPONENT_SCORE;

/** The weighted score, 0..100, rounded to two decimals so every instance reports the same number. */
export function streamScore(metrics: StreamMetrics): number {
  const score =
    SCORE_WEIGHTS.snr * normaliseSnr(metrics.snr) +
    SCORE_WEIGHTS.speechClarity * normaliseClarity(metrics.speechClarity) +
    SCORE_WEIGHTS.volume * normaliseVolume(metrics.volumeLevel) +
    SCORE_WEIGHTS.location * normaliseLocation(metrics.location) +
    SCORE_WEIGHTS.rssi * normaliseRssi(metrics.rssi);
  return Math.round(score * 100) / 100;
}

/** How many recent samples a stream's acoustic metrics average over. */
export const METRIC_WINDOW = 10;

/**
 * Folds a new measurement into a stream's running value: a plain mean over the first METRIC_WINDOW
 * samples, then an exponential average of the same weight, so one noisy sample cannot flip the best stream
 * yet a device that moved is noticed within a few samples.
 */
export function foldSample(previous: number, sample: number, previousCount: number): number {
  if (previousCount <= 0 || !finite(previous)) return sample;
  const weight = 1 / Math.min(previousCount + 1, METRIC_WINDOW);
  return previous + (sample - previous) * weight;
}
