import { sql } from 'kysely';
import {
  foldSample,
  STREAM_STALE_AFTER_SECONDS,
  streamScore,
  type StreamLocation,
} from '../../domain/stream-score';
import { inTransaction, type Executor } from '../transaction';
import type { StreamQuality } from '../types';

/** Acoustic measurements of one audio sample, as the audio pipeline computes them. */
export interface QualitySample {
  /** dB. */
  snr: number;
  /** 0..1. */
  speechClarity: number;
  /** RMS as a fraction of full scale, 0..1. */
  volumeLevel: number;
  /** RMS of the noise floor, 0..1. */
  noiseLevel: number;
  /** Share of frames with speech, 0..1. */
  speechRatio: number;
}

export interface StreamQualityUpdate {
  networkId: string;
  /** Must be a registered client of the network (foreign key). */
  clientId: string;
  sample?: QualitySample;
  location?: StreamLocation;
  rssi?: number;
}

const scoreOf = (row: StreamQuality) =>
  streamScore({
    snr: row.snr,
    speechClarity: row.speech_clarity,
    volumeLevel: row.volume_level,
    location: row.location as StreamLocation | null,
    rssi: row.rssi,
  });

/**
 * Folds new measurements (an audio sample, a phone location, an RSSI reading) into a client's stream
 * quality and recomputes its score, under a row lock so concurrent updates from several Lambdas are not
 * lost. All state lives in `stream_quality`; no instance keeps any.
 */
export const upsertStreamQuality = (db: Executor, update: StreamQualityUpdate): Promise<StreamQuality> =>
  inTransaction(db, async (trx) => {
    await trx
      .insertInto('stream_quality')
      .values({ network_id: update.networkId, client_id: update.clientId })
      .onConflict((oc) => oc.columns(['network_id', 'client_id']).doNothing())
      .execute();
    const current = await trx
      .selectFrom('stream_quality')
      .selectAll()
      .where('network_id', '=', update.networkId)
      .where('client_id', '=', update.clientId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const next: StreamQuality = { ...current };
    if (update.sample) {
      const n = current.sample_count;
      next.snr = foldSample(current.snr, update.sample.snr, n);
      next.speech_clarity = foldSample(current.speech_clarity, update.sample.speechClarity, n);
      next.volume_level = foldSample(current.volume_level, update.sample.volumeLevel, n);
      next.noise_level = foldSample(current.noise_level, update.sample.noiseLevel, n);
      next.speech_ratio = foldSample(current.speech_ratio, update.sample.speechRatio, n);
      next.sample_count = n + 1;
    }
    if (update.location) next.location = { ...update.location };
    if (update.rssi !== undefined) next.rssi = update.rssi;
    return trx
      .updateTable('stream_quality')
      .set({
        snr: next.snr,
        speech_clarity: next.speech_clarity,
        volume_level: next.volume_level,
        noise_level: next.noise_level,
        speech_ratio: next.speech_ratio,
        sample_count: next.sample_count,
        location: next.location === null ? null : JSON.stringify(next.location),
        rssi: next.rssi,
        score: scoreOf(next),
        last_update: sql<Date>`now()`,
      })
      .where('network_id', '=', update.networkId)
      .where('client_id', '=', update.clientId)
      .returningAll()
      .executeTakeFirstOrThrow();
  });

export const findStreamQuality = (
  db: Executor,
  networkId: string,
  clientId: string,
): Promise<StreamQuality | undefined> =>
  db
    .selectFrom('stream_quality')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();

/**
 * The network's streams updated within STREAM_STALE_AFTER_SECONDS, best first. The order is total
 * (score, then freshest, then name), so every instance names the same best stream.
 */
export const activeStreams = (db: Executor, networkId: string): Promise<StreamQuality[]> =>
  db
    .selectFrom('stream_quality')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('last_update', '>=', sql<Date>`now() - make_interval(secs => ${STREAM_STALE_AFTER_SECONDS})`)
    .orderBy('score', 'desc')
    .orderBy('last_update', 'desc')
    .orderBy('client_id')
    .execute();

/** The best active stream of the network, if any. */
export const bestStream = async (db: Executor, networkId: string): Promise<StreamQuality | undefined> =>
  (await activeStreams(db, networkId))[0];
