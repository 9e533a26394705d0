import * as z from 'zod';
import type { MemoryView } from '../../shared/db/repositories/memories';
import { iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

export const memoryTypeSchema = z.enum(['commitment', 'plan', 'fact', 'preference']);
export const memoryStatusSchema = z.enum(['proposed', 'confirmed', 'cancelled', 'expired']);

const memoryExample = {
  id: '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
  network_id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
  source_conversation_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  memory_type: 'plan',
  status: 'proposed',
  canonical_text: 'Anna and Ben meet at the market on Saturday 5 December at 10:00',
  action_kind: 'schedule',
  participant_person_ids: ['3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f', '4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d'],
  proposed_start_at: '2026-12-05T10:00:00.000Z',
  proposed_end_at: null,
  expires_at: '2026-12-05T23:59:00.000Z',
  confidence: 0.9,
  provenance: { source: 'conversation', interaction_ids: ['5c4b3a29-1807-4f6e-9d5c-4b3a29180706'] },
  transition_history: [
    {
      from: null,
      to: 'proposed',
      reason: 'extracted from the conversation',
      at: '2026-12-01T09:00:00.000Z',
      source: 'extraction',
      interaction_id: '5c4b3a29-1807-4f6e-9d5c-4b3a29180706',
    },
  ],
  action_id: '1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5061',
  created_at: '2026-12-01T09:00:00.000Z',
  updated_at: '2026-12-01T09:00:00.000Z',
};

const transitionSchema = z.object({
  from: memoryStatusSchema.nullable(),
  to: memoryStatusSchema,
  reason: z.string(),
  at: z.string(),
  interaction_id: z.uuid().nullable().optional(),
  source: z.enum(['extraction', 'conversation', 'user', 'expiry', 'voice_command']),
  canonical_text: z.string().optional(),
});

export const memorySchema = z
  .object({
    id: z.uuid(),
    network_id: z.uuid(),
    source_conversation_id: z.uuid().nullable(),
    memory_type: memoryTypeSchema,
    status: memoryStatusSchema.meta({ description: '`cancelled` and `expired` mean: no longer in force' }),
    canonical_text: z.string(),
    action_kind: z.enum(['remind', 'schedule', 'contact']).nullable(),
    participant_person_ids: z
      .array(z.uuid())
      .meta({ description: 'The people it is about; a commitment belongs to whoever made it' }),
    proposed_start_at: isoTimestamp.nullable(),
    proposed_end_at: isoTimestamp.nullable(),
    expires_at: isoTimestamp.nullable(),
    confidence: z.number().nullable(),
    provenance: z
      .record(z.string(), z.unknown())
      .meta({ description: '`source` and the `interaction_ids` it was drawn from' }),
    transition_history: z.array(transitionSchema),
    action_id: z.uuid().nullable().meta({ description: 'The remind/schedule action made from it, if any' }),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .meta({ id: 'EpisodicMemory', example: memoryExample });

export type MemoryAnswer = z.infer<typeof memorySchema>;

export const memoryListSchema = z.array(memorySchema).meta({ example: [memoryExample] });
export const memoryParams = z.object({ memory_id: uuidParam });
export const memoryListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  status: memoryStatusSchema.optional(),
  memory_type: memoryTypeSchema.optional(),
  person_id: uuidParam.optional(),
});
export const memoryPatchBody = z
  .object({
    status: memoryStatusSchema.optional(),
    canonical_text: z.string().trim().min(1).max(2000).optional(),
  })
  .refine((b) => b.status !== undefined || b.canonical_text !== undefined, {
    message: 'give status or canonical_text',
  })
  .meta({ id: 'EpisodicMemoryUpdate', example: { status: 'confirmed' } });

export const toMemory = (memory: MemoryView): MemoryAnswer => ({
  id: memory.id,
  network_id: memory.network_id,
  source_conversation_id: memory.source_conversation_id,
  memory_type: memory.memory_type,
  status: memory.status,
  canonical_text: memory.canonical_text,
  action_kind: memory.action_kind,
  participant_person_ids: memory.participant_person_ids,
  proposed_start_at: iso(memory.proposed_start_at),
  proposed_end_at: iso(memory.proposed_end_at),
  expires_at: iso(memory.expires_at),
  confidence: memory.confidence,
  provenance: memory.provenance,
  transition_history: memory.transition_history,
  action_id: memory.action_id,
  created_at: iso(memory.created_at)!,
  updated_at: iso(memory.updated_at)!,
});
