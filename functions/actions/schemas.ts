import * as z from 'zod';
import type { Action } from '../../shared/db/types';
import { iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

export const actionStatusSchema = z.enum(['pending', 'confirmed', 'done', 'dismissed']);

const actionExample = {
  id: '1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5061',
  network_id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
  person_id: '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f',
  interaction_id: '5c4b3a29-1807-4f6e-9d5c-4b3a29180706',
  conversation_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  action_type: 'remind',
  details: 'Call Bob',
  payload: { title: 'Call Bob', contact: 'Bob' },
  status: 'pending',
  scheduled_time: '2026-01-02T09:00:00.000Z',
  completed_time: null,
  created_at: '2026-01-01T09:00:00.000Z',
  updated_at: '2026-01-01T09:00:00.000Z',
};

export const actionSchema = z
  .object({
    id: z.uuid(),
    network_id: z.uuid(),
    person_id: z.uuid().nullable(),
    interaction_id: z.uuid().nullable(),
    conversation_id: z.uuid().nullable(),
    action_type: z.enum(['remind', 'schedule', 'contact']),
    details: z
      .string()
      .nullable()
      .meta({ description: 'What to do, as a person reads it; every client renders it as text' }),
    payload: z.record(z.string(), z.unknown()).meta({ description: 'The structured fields of the action' }),
    status: actionStatusSchema,
    scheduled_time: isoTimestamp.nullable(),
    completed_time: isoTimestamp.nullable(),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .meta({ id: 'Action', example: actionExample });

export const actionListSchema = z.array(actionSchema).meta({ example: [actionExample] });
export const actionParams = z.object({ action_id: uuidParam });
export const actionListQuery = z.object({ status: actionStatusSchema.optional() });
export const actionStatusBody = z
  .object({ status: actionStatusSchema })
  .meta({ id: 'ActionStatusUpdate', example: { status: 'done' } });

export const toAction = (action: Action): z.infer<typeof actionSchema> => ({
  id: action.id,
  network_id: action.network_id,
  person_id: action.person_id,
  interaction_id: action.interaction_id,
  conversation_id: action.conversation_id,
  action_type: action.action_type,
  details: action.details,
  payload: action.payload,
  status: action.status,
  scheduled_time: iso(action.scheduled_time),
  completed_time: iso(action.completed_time),
  created_at: iso(action.created_at)!,
  updated_at: iso(action.updated_at)!,
});
