import { z } from 'zod';
import type { InteractionView } from '../../shared/db/repositories/interactions';
import { clientIdSchema, iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

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

export const interactionListQuery = z.object({
  person_id: z.uuid().optional(),
  conversation_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
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
