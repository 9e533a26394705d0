import type { GenerateContentConfig } from '@google/genai';
import * as z from 'zod';
import { clientFor, generateStructured, geminiSettings, type GeminiSettings } from './gemini';
import { localIso } from './tools';

/**
 * Conversation intelligence: ONE structured call per summary writes a conversation's title and summaries,
 * extracts its episodic memories, and says which earlier memories it confirms or cancels ("we're not going
 * Saturday after all"). The model sees interaction and person ids so that what it answers can be checked
 * against the database: anything it names that does not exist is dropped, never stored.
 */

export const MEMORY_TYPES = ['commitment', 'plan', 'fact', 'preference'] as const;

const memoryShape = z.object({
  memory_type: z
    .enum(MEMORY_TYPES)
    .describe(
      'commitment: someone agreed to do something; plan: an event with a time; fact: something to remember ' +
        'about a person or the home; preference: what someone likes or dislikes',
    ),
  canonical_text: z
    .string()
    .describe(
      'One self-contained sentence with names and absolute dates, e.g. "Anna and Ben meet on Saturday 5 December at 10:00"',
    ),
  participant_person_ids: z
    .array(z.string())
    .describe('Ids of the people it is about; for a commitment only the person(s) who made it'),
  action_kind: z
    .enum(['remind', 'schedule', 'contact'])
    .nullable()
    .describe(
      'remind for a commitment to do something, schedule for a plan, contact for calling or writing to someone; else null',
    ),
  proposed_start_at: z
    .string()
    .nullable()
    .describe(
      'When it starts or is due, ISO 8601 local date-time without offset; null when no time was said',
    ),
  proposed_end_at: z.string().nullable().describe('When it ends, same form; usually null'),
  expires_at: z
    .string()
    .nullable()
    .describe(
      'After when it no longer matters (e.g. the end of the planned day), same form; null for lasting facts',
    ),
  confidence: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('How sure you are that it was really agreed or said, 0 to 1'),
  source_interaction_ids: z.array(z.string()).describe('Ids of the utterances it comes from'),
});

const updateShape = z.object({
  memory_id: z.string().describe('Id of one of the existing memories listed'),
  status: z.enum(['confirmed', 'cancelled']),
  reason: z.string().describe('Why, in a few words, e.g. "Ben said they are not going on Saturday"'),
  interaction_id: z.string().nullable().describe('Id of the utterance that confirms or cancels it'),
});

const summaryShape = z.object({
  title: z.string().describe('A short title of the conversation, a few words'),
  topic_summary: z.string().describe('One sentence: what the conversation is about'),
  context_summary: z
    .string()
    .describe(
      'A short paragraph of what was said and agreed, with names, that someone who missed it could read',
    ),
  memories: z.array(memoryShape).describe('New things worth remembering from these utterances; may be empty'),
  memory_updates: z
    .array(updateShape)
    .describe('Existing memories these utterances confirm or cancel; may be empty'),
});

export type ConversationSummary = z.output<typeof summaryShape>;
export type ExtractedMemory = ConversationSummary['memories'][number];

const { $schema: _ignored, ...SUMMARY_JSON_SCHEMA } = z.toJSONSchema(summaryShape) as Record<string, unknown>;

const SUMMARY_PROMPT = [
  'You are the memory of Mira, a voice assistant that hears the conversations of a home.',
  'Given one conversation (each utterance with its id, time and speaker), write its title and summaries and',
  'extract what the household would want remembered: commitments, plans with their times, facts and',
  'preferences. Attribute each to the people it is about, by their ids; a commitment belongs to whoever',
  'made it. Resolve relative dates ("on Saturday") against the times of the utterances.',
  'When an utterance confirms or cancels one of the existing memories listed, answer it in memory_updates',
  'instead of repeating it as a new memory. Never invent ids.',
].join(' ');

export interface SummaryUtterance {
  id: string;
  timestamp: Date;
  speakerId: string | null;
  speakerName: string | undefined;
  text: string;
}

export interface OpenMemory {
  id: string;
  memory_type: string;
  canonical_text: string;
  proposed_start_at: Date | null;
}

export interface SummarizeRequest {
  timeZone: string;
  /** The summary so far, when this is a rolling update. */
  previous?: { title: string | null; topic_summary: string | null; context_summary: string | null };
  utterances: SummaryUtterance[];
  /** Earlier memories of the network the conversation might confirm or cancel. */
  openMemories: OpenMemory[];
  people: { id: string; name: string }[];
  now?: Date;
  settings?: GeminiSettings;
}

/** Plain errors: a summary runs off the request path, its failure is logged and retried by the sweep. */
export class SummaryFailedError extends Error {
  override name = 'SummaryFailedError';
}

function summaryPrompt(request: SummarizeRequest, now: Date): string {
  const zone = request.timeZone;
  const lines = [`Current local time: ${localIso(zone, now)} (${zone}).`, ''];
  lines.push('People: ' + (request.people.map((p) => `${p.name} (id ${p.id})`).join('; ') || 'none known'));
  if (request.previous?.context_summary) {
    lines.push('', `Summary so far: ${request.previous.title ?? ''}. ${request.previous.context_summary}`);
  }
  if (request.openMemories.length) {
    lines.push('', 'Existing memories:');
    for (const m of request.openMemories)
      lines.push(
        `- id ${m.id} (${m.memory_type}${m.proposed_start_at ? `, at ${localIso(zone, m.proposed_start_at)}` : ''}): ${m.canonical_text}`,
      );
  }
  lines.push('', 'Utterances, oldest first:');
  for (const u of request.utterances) {
    const who = u.speakerName ? `${u.speakerName} (id ${u.speakerId})` : 'Someone unknown';
    lines.push(`[id ${u.id}] [${localIso(zone, u.timestamp)}] ${who}: ${u.text}`);
  }
  return lines.join('\n');
}

/** One structured call: the summaries, the new memories and the updates of existing ones. */
export async function summarizeConversation(request: SummarizeRequest): Promise<ConversationSummary> {
  const settings = request.settings ?? geminiSettings();
  if (!settings.apiKey) throw new SummaryFailedError('Gemini is not configured');
  const client = await clientFor(settings);
  const call = {
    model: settings.model,
    contents: [{ role: 'user', parts: [{ text: summaryPrompt(request, request.now ?? new Date()) }] }],
    config: {
      systemInstruction: SUMMARY_PROMPT,
      responseMimeType: 'application/json',
      responseJsonSchema: SUMMARY_JSON_SCHEMA,
      temperature: 0,
      abortSignal: AbortSignal.timeout(60_000),
    } satisfies GenerateContentConfig,
  };
  return generateStructured(client, call, summaryShape, {
    what: 'Conversation summary',
    unavailable: (detail) => new SummaryFailedError(detail),
    failed: (detail, cause) => new SummaryFailedError(detail, { cause }),
  });
}
