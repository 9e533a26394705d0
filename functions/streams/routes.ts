import { findClient } from '../../shared/db/repositories/networks';
import {
  activeStreams,
  bestStream,
  findStreamQuality,
  upsertStreamQuality,
} from '../../shared/db/repositories/streams';
import type { Executor } from '../../shared/db/transaction';
import { analyzeAudio } from '../../shared/audio';
import { clientNotFound } from '../../shared/errors';
import { countMetric } from '../../shared/observability';
import { defineRoute, ok, type RouteDefinition } from '../../shared/http/route';
import { measureCopy } from './service';
import {
  bestStreamSchema,
  phoneLocationAnswer,
  phoneLocationBody,
  phoneRssiAnswer,
  phoneRssiBody,
  streamClientParams,
  streamInfoSchema,
  streamAudioAnswer,
  streamAudioBody,
  streamAudioParams,
  streamScoresSchema,
  toStreamInfo,
} from './schemas';

const tag = 'Streams';

const requireClient = async (db: Executor, networkId: string, clientId: string) => {
  if (!(await findClient(db, networkId, clientId))) throw clientNotFound(clientId);
};

const round2 = (value: number) => Math.round(value * 100) / 100;

export const streamRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/streams/best',
    scope: 'scoped',
    tag,
    summary: 'The client that hears best right now (among streams updated in the last 5 minutes)',
    responses: { 200: { description: 'The best stream, or nulls', schema: bestStreamSchema } },
    handler: async ({ db, networkId }) => {
      const best = await bestStream(db, networkId);
      const score = best ? round2(best.score) : null;
      return ok({
        best_stream: best ? { client_id: best.client_id, score: score! } : null,
        stream_id: best?.client_id ?? null,
        client_id: best?.client_id ?? null,
        quality_score: score,
        timestamp: new Date().toISOString(),
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/streams/scores',
    scope: 'scoped',
    tag,
    summary: 'Scores of the active streams of the network',
    responses: { 200: { description: 'Scores by client', schema: streamScoresSchema } },
    handler: async ({ db, networkId }) => {
      const streams = await activeStreams(db, networkId);
      return ok({
        active_streams: streams.length,
        stream_scores: Object.fromEntries(streams.map((s) => [s.client_id, round2(s.score)])),
        current_best: streams[0]?.client_id ?? null,
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/streams/{client_id}/info',
    scope: 'scoped',
    tag,
    summary: "A client's quality metrics, score and whether it is the best stream",
    params: streamClientParams,
    responses: { 200: { description: 'The stream', schema: streamInfoSchema } },
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      await requireClient(db, networkId, params.client_id);
      const [quality, best] = await Promise.all([
        findStreamQuality(db, networkId, params.client_id),
        bestStream(db, networkId),
      ]);
      return ok(toStreamInfo(params.client_id, quality, best?.client_id === params.client_id));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/streams/phone/location',
    scope: 'scoped',
    tag,
    summary: "Record a client's location (from the phone); its accuracy feeds the stream score",
    body: phoneLocationBody,
    responses: { 200: { description: 'Recorded', schema: phoneLocationAnswer } },
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ db, networkId, body }) => {
      await requireClient(db, networkId, body.client_id);
      await upsertStreamQuality(db, {
        networkId: networkId,
        clientId: body.client_id,
        location: body.location,
      });
      return ok({ message: `Location recorded for ${body.client_id}`, location: body.location });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/streams/phone/rssi',
    scope: 'scoped',
    tag,
    summary: 'Record the signal strength between the phone and a client; it feeds the stream score',
    body: phoneRssiBody,
    responses: { 200: { description: 'Recorded', schema: phoneRssiAnswer } },
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ db, networkId, body }) => {
      const target = (body.target_client_id ?? body.client_id)!;
      await requireClient(db, networkId, target);
      await upsertStreamQuality(db, { networkId: networkId, clientId: target, rssi: body.rssi });
      return ok({ message: `RSSI recorded for ${target}`, rssi: body.rssi });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/streams/{stream_id}/audio',
    scope: 'scoped',
    tag,
    summary:
      "Measure a device's audio sample and fold it into its stream quality (no transcription, nothing stored)",
    params: streamAudioParams,
    body: streamAudioBody,
    accepts: ['multipart'],
    responses: { 200: { description: 'Quality metrics of the sample', schema: streamAudioAnswer } },
    errors: [
      'EMPTY_AUDIO',
      'CLIENT_NOT_FOUND',
      'AUDIO_TOO_LARGE',
      'AUDIO_TOO_LONG',
      'UNSUPPORTED_AUDIO_FORMAT',
      'CORRUPT_AUDIO',
    ],
    handler: async ({ db, networkId, params, body }) => {
      const clientId = params.stream_id;
      await requireClient(db, networkId, clientId);
      // Quality only: the speaker embedding is the expensive part and says nothing about the stream.
      const { audio, quality } = await analyzeAudio(body.audio_data.content, { embedding: false });
      const { score, stream } = await measureCopy(db, networkId, clientId, quality);
      const best = await bestStream(db, networkId);
      countMetric('StreamSamplesMeasured');
      return ok({
        client_id: clientId,
        timestamp: body.timestamp ?? new Date().toISOString(),
        sample: {
          duration_s: round2(audio.durationS),
          format: audio.format,
          snr: quality.snrDb,
          speech_clarity: quality.speechClarity,
          volume_level: quality.volumeRms,
          noise_level: quality.noiseLevel,
          speech_ratio: quality.speechRatio,
          clipping_ratio: quality.clippingRatio,
          score,
        },
        current_score: round2(stream.score),
        sample_count: stream.sample_count,
        is_best_stream: best?.client_id === clientId,
        metadata: body.metadata ?? {},
      });
    },
  }),
];
