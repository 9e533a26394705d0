import * as z from 'zod';
import type { ConversationWithParticipants } from '../../shared/db/repositories/conversations';
import { isConversationActive } from '../../shared/domain/conversation-boundaries';
import { iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

const conversationExample = {
  id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  network_id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
  title: null,
  topic_summary: null,
  context_summary: null,
  started_at: '2026-01-01T09:00:00.000Z',
  ended_at: null,
  is_active: true,
  participants: ['3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f'],
  created_at: '2026-01-01T09:00:00.000Z',
  updated_at: '2026-01-01T09:02:00.000Z',
};

export const conversationSchema = z
  .object({
    id: z.uuid(),
    network_id: z.uuid(),
    title: z.string().nullable(),
    topic_summary: z.string().nullable(),
    context_summary: z.string().nullable(),
    started_at: isoTimestamp,
    ended_at: isoTimestamp.nullable(),
    is_active: z.boolean(),
    participants: z
      .array(z.uuid())
      .meta({ description: 'Ids of the persons who spoke, in order of joining' }),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .meta({ id: 'Conversation', example: conversationExample });

export const conversationListSchema = z.array(conversationSchema).meta({ example: [conversationExample] });

export const conversationParams = z.object({ conversation_id: uuidParam });

export const conversationListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  offset: z.coerce.number().int().min(0).default(0),
});

export const deletedConversationSchema = z
  .object({
    message: z.string(),
    deleted_conversation_id: z.uuid(),
    deleted_interactions: z.int().min(0),
    deleted_actions: z.int().min(0),
  })
  .meta({
    id: 'ConversationDeleted',
    example: {
      message: 'Conversation deleted successfully',
      deleted_conversation_id: conversationExample.id,
      deleted_interactions: 4,
      deleted_actions: 1,
    },
  });

/** `is_active` and `ended_at` are judged at read time: a conversation silent for 5 minutes is over. */
export const toConversation = (
  conversation: ConversationWithParticipants,
  now = new Date(),
): z.infer<typeof conversationSchema> => {
  const lastInteractionAt = new Date(conversation.last_interaction_at);
  const active = isConversationActive(
    { lastInteractionAt, lastSpeakerId: conversation.last_speaker_id, isActive: conversation.is_active },
    now,
  );
  return {
    id: conversation.id,
    network_id: conversation.network_id,
    title: conversation.title,
    topic_summary: conversation.topic_summary,
    context_summary: conversation.context_summary,
    started_at: iso(conversation.started_at)!,
    ended_at: active ? null : iso(conversation.ended_at ?? lastInteractionAt),
    is_active: active,
    participants: conversation.participants,
    created_at: iso(conversation.created_at)!,
    updated_at: iso(conversation.updated_at)!,
  };
};
