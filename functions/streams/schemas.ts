import * as z from 'zod';
import type { StreamQuality } from '../../shared/db/types';
import { uploadedFile } from '../../shared/http/upload';
import { clientIdSchema, iso, isoTimestamp } from '../../shared/http/validation';

export const locationSchema = z
  .object({
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    accuracy: z.number().min(0).nullish().meta({ description: 'Horizontal accuracy in metres' }),
  })
  .meta({ id: 'Location', example: { latitude: 52.52, longitude: 13.405, accuracy: 8 } });

// Stored as PostgreSQL real, which refuses denormals (-7.4e-323 is 22003): a dBm reading needs no more
// than two decimals, so it is kept to two.
const rssiValue = z
  .number()
  .min(-150)
  .max(0)
  .transform((dbm) => Math.round(dbm * 100) / 100 || 0)
  .meta({ description: 'dBm' });

export const bestStreamSchema = z
  .object({
    best_stream: z.object({ client_id: z.string(), score: z.number() }).nullable(),
    stream_id: z.string().nullable(),
    client_id: z.string().nullable(),
    quality_score: z.number().nullable(),
    timestamp: isoTimestamp,
  })
  .meta({
    id: 'BestStream',
    example: {
      best_stream: { client_id: 'kitchen', score: 78.5 },
      stream_id: 'kitchen',
      client_id: 'kitchen',
      quality_score: 78.5,
      timestamp: '2026-01-01T09:00:00.000Z',
    },
  });

export const streamScoresSchema = z
  .object({
    active_streams: z.int().min(0),
    stream_scores: z.record(z.string(), z.number()),
    current_best: z.string().nullable(),
  })
  .meta({
    id: 'StreamScores',
    example: {
      active_streams: 2,
      stream_scores: { kitchen: 78.5, 'desktop-1': 61.2 },
      current_best: 'kitchen',
    },
  });

export const streamInfoSchema = z
  .object({
    client_id: z.string(),
    quality_metrics: z.object({
      snr: z.number(),
      speech_clarity: z.number(),
      volume_level: z.number(),
      noise_level: z.number(),
      speech_ratio: z.number(),
      location: locationSchema.nullable(),
      rssi: z.number().nullable(),
      sample_count: z.int().min(0),
    }),
    current_score: z.number(),
    is_best_stream: z.boolean(),
    last_update: isoTimestamp.nullable(),
  })
  .meta({
    id: 'StreamInfo',
    example: {
      client_id: 'kitchen',
      quality_metrics: {
        snr: 24.1,
        speech_clarity: 0.82,
        volume_level: 0.12,
        noise_level: 0.01,
        speech_ratio: 0.64,
        location: null,
        rssi: -55,
        sample_count: 14,
      },
      current_score: 78.5,
      is_best_stream: true,
      last_update: '2026-01-01T09:00:00.000Z',
    },
  });

export const streamClientParams = z.object({ client_id: clientIdSchema });

export const phoneLocationBody = z.object({ client_id: clientIdSchema, location: locationSchema }).meta({
  id: 'PhoneLocation',
  example: { client_id: 'kitchen', location: { latitude: 52.52, longitude: 13.405, accuracy: 8 } },
});

export const phoneLocationAnswer = z
  .object({ message: z.string(), location: locationSchema })
  .meta({ id: 'PhoneLocationRecorded' });

export const phoneRssiBody = z
  .object({
    target_client_id: clientIdSchema.optional().meta({ description: 'The device whose signal was measured' }),
    client_id: clientIdSchema.optional().meta({ description: 'Older name of target_client_id' }),
    phone_client_id: clientIdSchema.optional(),
    rssi: rssiValue,
  })
  .refine((body) => body.target_client_id ?? body.client_id, {
    message: 'target_client_id or client_id is required',
    path: ['target_client_id'],
  })
  .meta({ id: 'PhoneRssi', example: { target_client_id: 'kitchen', phone_client_id: 'phone-1', rssi: -58 } });

export const phoneRssiAnswer = z
  .object({ message: z.string(), rssi: z.number() })
  .meta({ id: 'PhoneRssiRecorded' });

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

export const toStreamInfo = (
  clientId: string,
  quality: StreamQuality | undefined,
  isBest: boolean,
): z.infer<typeof streamInfoSchema> => ({
  client_id: clientId,
  quality_metrics: {
    snr: round(quality?.snr ?? 0),
    speech_clarity: round(quality?.speech_clarity ?? 0),
    volume_level: round(quality?.volume_level ?? 0),
    noise_level: round(quality?.noise_level ?? 0),
    speech_ratio: round(quality?.speech_ratio ?? 0),
    location: (quality?.location as z.infer<typeof locationSchema> | null) ?? null,
    rssi: quality?.rssi ?? null,
    sample_count: quality?.sample_count ?? 0,
  },
  current_score: round(quality?.score ?? 0, 2),
  is_best_stream: isBest,
  last_update: iso(quality?.last_update),
});

export const streamAudioParams = z.object({
  stream_id: clientIdSchema.meta({ description: 'The client id of the device that recorded the sample' }),
});

/** A JSON object sent as a multipart text field. */
const jsonObjectField = z.string().transform((value, ctx) => {
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
  return z.NEVER;
});

export const streamAudioBody = z
  .object({
    audio_data: uploadedFile('A short audio sample (WAV, MP3 or FLAC) as the device hears the room'),
    timestamp: isoTimestamp.optional().meta({ description: 'When the sample was recorded' }),
    metadata: jsonObjectField.optional().meta({ description: 'A JSON object; echoed, not stored' }),
  })
  .meta({ id: 'StreamAudioSample' });

export const streamAudioAnswer = z
  .object({
    client_id: z.string(),
    timestamp: isoTimestamp,
    sample: z
      .object({
        duration_s: z.number(),
        format: z.string(),
        snr: z.number().meta({ description: 'dB' }),
        speech_clarity: z.number(),
        volume_level: z.number().meta({ description: 'RMS of the speech, fraction of full scale' }),
        noise_level: z.number(),
        speech_ratio: z.number(),
        clipping_ratio: z.number(),
        score: z.number().meta({ description: 'This sample alone, 0..100 (location and RSSI as known)' }),
      })
      .meta({ description: 'Quality metrics of this sample' }),
    current_score: z
      .number()
      .meta({ description: "The stream's score after folding this sample in, 0..100" }),
    sample_count: z.int().min(1),
    is_best_stream: z.boolean(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({
    id: 'StreamAudioQuality',
    example: {
      client_id: 'kitchen',
      timestamp: '2026-01-01T09:00:00.000Z',
      sample: {
        duration_s: 2.4,
        format: 'wav',
        snr: 31.2,
        speech_clarity: 0.61,
        volume_level: 0.08,
        noise_level: 0.002,
        speech_ratio: 0.72,
        clipping_ratio: 0,
        score: 71.4,
      },
      current_score: 69.8,
      sample_count: 5,
      is_best_stream: true,
      metadata: {},
    },
  });
