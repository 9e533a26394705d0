import * as z from 'zod';
import { decodeInteractionCursor, type InteractionView } from '../../shared/db/repositories/interactions';
import type { UploadedFile } from '../../shared/http/route';
import { clientIdSchema, cursorToken, iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

const interactionExample = {
  id: '5c4b3a29-1807-4f6e-9d5c-4b3a29180706',
  network_id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
  conversation_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  speaker_id: '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f',
  person_id: '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f',
  client_id: 'kitchen',
  interaction_type: 'text',
  text: 'Remind me to call Bob tomorrow at nine',
  timestamp: '2026-01-01T09:00:00.000Z',
  sentiment: 0.2,
  entities: [{ text: 'Bob', label: 'PERSON' }],
  topics: ['reminders'],
  metadata: {},
  created_at: '2026-01-01T09:00:00.000Z',
};

export const interactionTypeSchema = z.enum(['audio', 'text', 'system']);

export const interactionSchema = z
  .object({
    id: z.uuid(),
    network_id: z.uuid(),
    conversation_id: z.uuid().nullable(),
    speaker_id: z.uuid().nullable().meta({ description: 'The person who spoke; same as person_id' }),
    person_id: z.uuid().nullable(),
    client_id: z.string().nullable(),
    interaction_type: interactionTypeSchema,
    text: z.string(),
    timestamp: isoTimestamp,
    sentiment: z.number().nullable(),
    entities: z.array(z.object({ text: z.string(), label: z.string() })),
    topics: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    created_at: isoTimestamp,
  })
  .meta({ id: 'Interaction', example: interactionExample });

export const interactionListSchema = z.array(interactionSchema).meta({ example: [interactionExample] });

export const createInteractionBody = z
  .object({
    content: z.string().min(1).max(20_000),
    interaction_type: interactionTypeSchema,
    person_id: z.uuid().nullish(),
    conversation_id: z.uuid().nullish().meta({
      description: 'Join this conversation; when absent, the time rules pick or start one',
    }),
    client_id: clientIdSchema.nullish().meta({ description: 'The registered client that heard it' }),
    timestamp: isoTimestamp.optional().meta({ description: 'When it was said; now when absent' }),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({
    id: 'InteractionCreate',
    example: { content: 'Hello Mira', interaction_type: 'text', person_id: interactionExample.person_id },
  });

export const interactionParams = z.object({ interaction_id: uuidParam });

/** A query parameter that may be repeated (`?a=1&a=2`): always an array. */
const repeated = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) => (value === undefined || Array.isArray(value) ? value : [value]),
    z.array(item).max(100),
  );

export const interactionListQuery = z.object({
  person_id: z.uuid().optional(),
  conversation_id: z.uuid().optional(),
  conversation_ids: repeated(z.uuid())
    .optional()
    .meta({ description: 'Interactions of any of these conversations (repeat the parameter)' }),
  orphans_only: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .meta({ description: 'Only interactions that belong to no conversation' }),
  before: cursorToken(200, decodeInteractionCursor)
    .optional()
    .meta({
      description:
        'Keyset pagination: only interactions older than this cursor. Send back the `Next-Cursor` header ' +
        '(or follow the `Link: <...>; rel="next"` header) of the previous page; its cost does not grow with ' +
        'depth, unlike `offset`. `offset` still applies after the cursor.',
    }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const interactionDeletedSchema = z
  .object({ detail: z.literal('Interaction deleted successfully') })
  .meta({ id: 'InteractionDeleted' });

export const toInteraction = (row: InteractionView): z.infer<typeof interactionSchema> => ({
  id: row.id,
  network_id: row.network_id,
  conversation_id: row.conversation_id,
  speaker_id: row.person_id,
  person_id: row.person_id,
  client_id: row.client_id,
  interaction_type: row.interaction_type,
  text: row.text,
  timestamp: iso(row.timestamp)!,
  sentiment: row.sentiment === null ? null : Number(row.sentiment),
  entities: row.entities,
  topics: row.topics,
  metadata: row.metadata,
  created_at: iso(row.created_at)!,
});

// ---------------------------------------------------------------------------------------------------------
// POST P/interactions/register

/** A file part of a multipart body (the pipeline's UploadedFile). */
const uploadedFile = z
  .custom<UploadedFile>(
    (value) =>
      typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).content),
    { error: 'must be a file' },
  )
  .meta({ type: 'string', format: 'binary', description: 'WAV, MP3 or FLAC' });

/** An empty form field means "not sent" (HTML forms send every field). */
const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export const registerForm = z
  .object({
    audio: uploadedFile.optional().meta({ description: 'WAV, MP3 or FLAC; or `upload_id` instead' }),
    upload_id: z
      .uuid({ error: 'must be a UUID' })
      .optional()
      .meta({
        description:
          'An upload of `POST P/uploads` whose audio was PUT to its URL, instead of `audio` (large recordings); ' +
          'answered 202 `{utterance_id, status}`. A JSON body `{upload_id, ...}` does the same',
      }),
    client_id: clientIdSchema.optional().meta({ description: 'The registered client that heard it' }),
    captured_at: z.preprocess(blankToUndefined, isoTimestamp.optional()).meta({
      description: 'When the client captured the utterance; the arrival time when absent',
    }),
    transcript: z.preprocess(blankToUndefined, z.string().trim().min(1).max(20_000).optional()).meta({
      description: 'The client’s own transcript (on-device speech recognition); no transcription call then',
    }),
    session_token: z.string().max(4096).optional().meta({
      description:
        'The realtime session’s `session_token` (from `session_ready`): accepted alone or with the bearer token',
    }),
    chunk_start_ms: z.preprocess(blankToUndefined, z.coerce.number().finite().optional()).meta({
      description: 'Where the utterance starts in the client’s capture, in ms (4.x app; informational)',
    }),
    chunk_end_ms: z.preprocess(blankToUndefined, z.coerce.number().finite().optional()).meta({
      description: 'Where the utterance ends in the client’s capture, in ms (4.x app; informational)',
    }),
  })
  .superRefine((form, ctx) => {
    if ((form.audio === undefined) === (form.upload_id === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [form.audio ? 'upload_id' : 'audio'],
        message: form.audio ? 'send either audio or upload_id, not both' : 'Required (or upload_id)',
      });
  })
  .meta({ id: 'InteractionRegisterForm' });

/** Multipart form, or raw PCM16 16 kHz mono bytes (`application/octet-stream`) with the fields in the query. */
export const registerBody = z.union([
  registerForm,
  z.instanceof(Buffer).meta({ description: 'Raw PCM16 little-endian, 16 kHz, mono' }),
]);

export const registerQuery = z.object({
  client_id: clientIdSchema.optional().meta({ description: 'Required with a raw PCM16 body' }),
  captured_at: isoTimestamp.optional(),
});

export const BETTER_STREAM_MESSAGE = 'Interaction was not registered due to better audio streams';

export const registerDroppedSchema = z
  .object({
    message: z.literal(BETTER_STREAM_MESSAGE),
    best_client_id: z.string(),
    best_score: z.number(),
    current_client_id: z.string(),
  })
  .meta({
    id: 'InteractionRegisterDropped',
    example: {
      message: BETTER_STREAM_MESSAGE,
      best_client_id: 'kitchen',
      best_score: 82.4,
      current_client_id: 'desktop-1',
    },
  });

export const commandAnswerSchema = z
  .object({ message: z.string() })
  .meta({ id: 'CommandAnswer', example: { message: 'It is 9:41 in the morning.' } });

/** A 200 of /register: a command's reply, or the "better audio streams" answer. */
export const registerOkSchema = z.union([registerDroppedSchema, commandAnswerSchema]);

export const utteranceAcceptedSchema = z
  .object({
    utterance_id: z.string(),
    status: z.enum(['accepted', 'processing', 'stored', 'dropped', 'failed']),
  })
  .meta({
    id: 'UtteranceAccepted',
    example: { utterance_id: '0b6f3c1e-8d2a-4f5b-9e7c-1a2b3c4d5e6f', status: 'accepted' },
  });

export const utteranceParams = z.object({ utterance_id: uuidParam });

export const utteranceStatusSchema = z
  .object({
    utterance_id: z.string(),
    status: z.enum(['accepted', 'processing', 'stored', 'dropped', 'failed']),
    client_id: z.string(),
    captured_at: isoTimestamp,
    score: z.number(),
    /** Stored: its interaction; dropped: the interaction of the copy that won, once stored. */
    interaction_id: z.string().nullable(),
    best_client_id: z.string().nullable(),
    error_code: z.string().nullable(),
    detail: z.string().nullable(),
    accepted_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .meta({
    id: 'UtteranceStatus',
    description:
      'An accepted upload: `accepted` (settling or queued), `processing`, `stored` (`interaction_id`), ' +
      '`dropped` (another device heard it better: `best_client_id`, and its `interaction_id` once stored) ' +
      'or `failed` (`error_code`, `detail`)',
    example: {
      utterance_id: '0b6f3c1e-8d2a-4f5b-9e7c-1a2b3c4d5e6f',
      status: 'stored',
      client_id: 'kitchen',
      captured_at: '2026-01-01T09:00:00.000Z',
      score: 82.4,
      interaction_id: '5c4b3a29-1807-4f6e-9d5c-4b3a29180706',
      best_client_id: null,
      error_code: null,
      detail: null,
      accepted_at: '2026-01-01T09:00:00.120Z',
      updated_at: '2026-01-01T09:00:02.410Z',
    },
  });

const batchParts = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [
    [
      `audio_${i}`,
      uploadedFile
        .meta({ description: `Recording ${i} (WAV, MP3, FLAC)${i === 0 ? '; at least one part' : ''}` })
        .optional(),
    ],
    [
      `captured_at_${i}`,
      z.preprocess(blankToUndefined, isoTimestamp.optional()).meta({
        description: `When recording ${i} was captured (required with audio_${i})`,
      }),
    ],
    [
      `transcript_${i}`,
      z.preprocess(blankToUndefined, z.string().trim().min(1).max(20_000).optional()).meta({
        description: `The device’s own transcript of recording ${i}`,
      }),
    ],
  ]).flat(),
) as Record<string, z.ZodType>;

/** Up to 10 recordings, `audio_N` with `captured_at_N` (and optionally `transcript_N`), N from 0. */
export const batchForm = z
  .object({
    client_id: clientIdSchema.meta({ description: 'The registered client that recorded them' }),
    ...batchParts,
  })
  .meta({ id: 'InteractionBatchForm' });

export const batchAcceptedSchema = z
  .object({
    batch_id: z.string(),
    utterances: z.array(
      z.object({ utterance_id: z.string(), captured_at: isoTimestamp, status: z.literal('accepted') }),
    ),
  })
  .meta({
    id: 'InteractionBatchAccepted',
    description: 'One utterance per part, in capture order; follow each on GET P/utterances/{utterance_id}',
  });

// ---------------------------------------------------------------------------------------------------------
// POST P/uploads

/** What an upload may hold: the audio files register takes, or raw PCM16 16 kHz mono. */
export const UPLOAD_CONTENT_TYPES = [
  'audio/wav',
  'audio/x-wav',
  'audio/wave',
  'audio/mpeg',
  'audio/mp3',
  'audio/flac',
  'audio/x-flac',
  'application/octet-stream',
] as const;

export const uploadBody = z
  .object({
    client_id: clientIdSchema.meta({ description: 'The registered client that recorded it' }),
    content_type: z.enum(UPLOAD_CONTENT_TYPES).meta({
      description:
        'The PUT’s Content-Type: WAV, MP3, FLAC, or application/octet-stream for raw PCM16 16 kHz mono',
    }),
    size: z
      .number()
      .int()
      .positive()
      .meta({ description: 'The recording’s exact size in bytes: the PUT must send exactly this many' }),
    captured_at: isoTimestamp.optional().meta({
      description: 'When the client captured the utterance; the arrival of its registration when absent',
    }),
  })
  .meta({
    id: 'UploadCreate',
    example: { client_id: 'kitchen', content_type: 'audio/wav', size: 9_600_044 },
  });

export const uploadAnswerSchema = z
  .object({
    upload_id: z.uuid(),
    url: z.string(),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()),
    expires_at: isoTimestamp,
    max_bytes: z.number().int(),
  })
  .meta({
    id: 'Upload',
    description:
      'PUT the recording to `url` with `headers` (its Content-Length is the exact `size`) before `expires_at`, ' +
      'then register it: `POST P/interactions/register` with `upload_id`',
    example: {
      upload_id: '2f9d0c4e-6b1a-4d3e-8f7a-0b1c2d3e4f5a',
      url: 'https://mira-audio.s3.eu-west-1.amazonaws.com/7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10/2f9d0c4e-6b1a-4d3e-8f7a-0b1c2d3e4f5a?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-SignedHeaders=content-length%3Bhost&X-Amz-Signature=...',
      method: 'PUT',
      headers: { 'Content-Type': 'audio/wav', 'Content-Length': '9600044' },
      expires_at: '2026-01-01T09:05:00.000Z',
      max_bytes: 26_214_400,
    },
  });
