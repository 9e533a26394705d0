import * as z from 'zod';
import {
  groundedSearch,
  localIso,
  networkTimeZone,
  networkTools,
  parseLocalDateTime,
  ToolInputError,
  ToolUnavailableError,
  type CommandOrigin,
  type VoiceTool,
} from '../../shared/ai';
import { config } from '../../shared/config';
import type { Db } from '../../shared/db/client';
import { insertAction } from '../../shared/db/repositories/actions';
import { findMemory, upsertMemory } from '../../shared/db/repositories/memories';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { forgetLatest } from '../memories/erasure';
import { toMemory } from '../memories/schemas';
import { search } from '../memories/search';

export interface VoiceContext {
  db: Db;
  networkId: string;
  origin: CommandOrigin;
  /** The device that heard the command: "I" for `forget` when the speaker is not recognised. */
  clientId: string;
  /** The command's own interaction (never forgotten by `forget`). */
  commandId: string;
  commandAt: Date;
}

const args = <T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ToolInputError(what);
  return parsed.data;
};

const str = (description: string) => ({ type: 'string', description });

/**
 * The tools of the streamed voice command (names the 4.x app labels). Each runs against this network's
 * data only; one that is not configured fails with its reason, never a pretended success.
 */
export function voiceTools(ctx: VoiceContext): VoiceTool[] {
  const { db, networkId, origin } = ctx;
  const base = new Map(networkTools(db, networkId, origin).map((tool) => [tool.name, tool]));
  const zone = () => networkTimeZone(db, networkId);
  const when = async (value: string | undefined, name: string) => {
    if (!value) return null;
    const at = parseLocalDateTime(value, await zone());
    if (!at) throw new ToolInputError(`${name} must be an ISO 8601 date-time, e.g. 2026-11-28T17:00:00`);
    return at;
  };
  return [
    {
      ...base.get('get_current_time')!,
      summarize: (r) => `It is ${(r as { local_time: string }).local_time}`,
    },
    {
      ...base.get('create_reminder')!,
      summarize: (r) => {
        const made = r as { text: string; local_time: string };
        return `Reminder "${made.text}" at ${made.local_time}`;
      },
    },
    {
      name: 'create_task',
      description: 'Add a task to the to-do list, optionally with a due time (ISO 8601, local time).',
      parameters: {
        type: 'object',
        properties: { text: str('The task'), due_time: str('When it is due, optional') },
        required: ['text'],
      },
      execute: async (input) => {
        const { text, due_time } = args(
          z.object({ text: z.string().trim().min(1), due_time: z.string().optional() }),
          input,
          'text is required',
        );
        const action = await insertAction(db, {
          networkId,
          actionType: 'remind',
          details: text,
          payload: { text, kind: 'task', source: 'voice_command' },
          personId: origin.personId ?? null,
          interactionId: origin.interactionId ?? null,
          conversationId: origin.conversationId ?? null,
          scheduledTime: await when(due_time, 'due_time'),
          origin: 'command',
        });
        return { id: action.id, text };
      },
      summarize: (r) => `Task "${(r as { text: string }).text}" added`,
    },
    {
      name: 'create_calendar_event',
      description: 'Put an event in the calendar. Times are ISO 8601; without an offset, local time.',
      parameters: {
        type: 'object',
        properties: {
          title: str('What the event is'),
          start_time: str('When it starts'),
          end_time: str('When it ends, optional'),
        },
        required: ['title', 'start_time'],
      },
      execute: async (input) => {
        const { title, start_time, end_time } = args(
          z.object({
            title: z.string().trim().min(1),
            start_time: z.string(),
            end_time: z.string().optional(),
          }),
          input,
          'title and start_time are required',
        );
        const start = (await when(start_time, 'start_time'))!;
        const end = await when(end_time, 'end_time');
        const action = await insertAction(db, {
          networkId,
          actionType: 'schedule',
          details: title,
          payload: { title, end_time: end?.toISOString() ?? null, source: 'voice_command' },
          personId: origin.personId ?? null,
          interactionId: origin.interactionId ?? null,
          conversationId: origin.conversationId ?? null,
          scheduledTime: start,
          origin: 'command',
        });
        return { id: action.id, title, start_time: localIso(await zone(), start) };
      },
      summarize: (r) => {
        const made = r as { title: string; start_time: string };
        return `"${made.title}" on ${made.start_time}`;
      },
    },
    {
      name: 'store_memory',
      description: 'Remember something the user asks Mira to remember (a fact or a preference).',
      parameters: {
        type: 'object',
        properties: {
          text: str('What to remember, as one self-contained sentence with names'),
          memory_type: { type: 'string', enum: ['fact', 'preference', 'commitment', 'plan'] },
        },
        required: ['text'],
      },
      execute: async (input) => {
        const { text, memory_type } = args(
          z.object({
            text: z.string().trim().min(1),
            memory_type: z.enum(['fact', 'preference', 'commitment', 'plan']).optional(),
          }),
          input,
          'text is required',
        );
        const { memory } = await upsertMemory(db, {
          networkId,
          conversationId: origin.conversationId ?? null,
          memoryType: memory_type ?? 'fact',
          canonicalText: text,
          actionKind: null,
          participantPersonIds: origin.personId ? [origin.personId] : [],
          proposedStartAt: null,
          proposedEndAt: null,
          expiresAt: null,
          confidence: 1,
          provenance: { source: 'voice_command', interaction_ids: [ctx.commandId] },
          transition: {
            from: null,
            to: 'proposed',
            reason: 'asked to remember it',
            at: new Date().toISOString(),
            interaction_id: ctx.commandId,
            source: 'voice_command',
          },
          dedupeKey: null,
        });
        const view = await findMemory(db, networkId, memory.id);
        if (view) await publishToNetwork(db, networkId, { event: 'episodic_memory', data: toMemory(view) });
        return { id: memory.id, text };
      },
      summarize: () => 'Remembered',
    },
    {
      name: 'search_memory',
      description: 'Search what was said and remembered in this home (conversations, memories), by meaning.',
      parameters: { type: 'object', properties: { query: str('What to look for') }, required: ['query'] },
      execute: async (input) => {
        const { query } = args(z.object({ query: z.string().trim().min(1) }), input, 'query is required');
        const found = await search(db, networkId, query, 5);
        return found.results.map((r) => ({ type: r.type, text: r.snippet, at: r.timestamp }));
      },
      summarize: (r) => `${(r as unknown[]).length} found`,
    },
    {
      name: 'forget',
      description:
        "Forget what the speaker just said: deletes the speaker's last utterances (the device's, when the speaker is not recognised) and what was derived from them.",
      parameters: { type: 'object', properties: {} },
      execute: () =>
        forgetLatest(
          db,
          networkId,
          origin.personId ? { personId: origin.personId } : { clientId: ctx.clientId },
          { id: ctx.commandId, at: ctx.commandAt },
        ),
      summarize: (r) => {
        const done = r as { forgotten_utterances: number; forgotten_memories: number };
        return `Forgot ${done.forgotten_utterances} utterances and ${done.forgotten_memories} memories`;
      },
    },
    {
      name: 'web_search',
      description: 'Look something up on the web (Google Search).',
      parameters: { type: 'object', properties: { query: str('The question') }, required: ['query'] },
      execute: async (input) => {
        if (!config().memory.webSearch)
          throw new ToolUnavailableError('web search is not enabled on this server');
        const { query } = args(z.object({ query: z.string().trim().min(1) }), input, 'query is required');
        return groundedSearch(query);
      },
      summarize: (r) => `${(r as { sources: unknown[] }).sources.length} sources`,
    },
    {
      name: 'send_email',
      description:
        'Draft an email for the user to review. It is NOT sent: the user confirms it in the app first.',
      parameters: {
        type: 'object',
        properties: { to: str('Recipient name or address'), subject: str('Subject'), body: str('The text') },
        required: ['to', 'body'],
      },
      execute: async (input) => {
        const { to, subject, body } = args(
          z.object({
            to: z.string().trim().min(1),
            subject: z.string().optional(),
            body: z.string().trim().min(1),
          }),
          input,
          'to and body are required',
        );
        const action = await insertAction(db, {
          networkId,
          actionType: 'contact',
          details: `Email to ${to}${subject ? `: ${subject}` : ''} (draft, waiting for your confirmation)`,
          payload: { channel: 'email', draft: true, to, subject: subject ?? null, body, contact: to },
          personId: origin.personId ?? null,
          interactionId: origin.interactionId ?? null,
          conversationId: origin.conversationId ?? null,
          origin: 'command',
        });
        return { id: action.id, status: 'draft', sent: false };
      },
      summarize: () => 'Draft saved for your confirmation; nothing was sent',
    },
  ];
}
