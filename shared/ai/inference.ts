import { generationSettings } from './thinking';
import type { GenerateContentConfig } from '@google/genai';
import * as z from 'zod';
import { InferenceFailedError, InferenceUnavailableError } from './errors';
import {
  clientFor,
  generateStructured,
  geminiSettings,
  RATE_LIMITED_RETRY_AFTER,
  type ContextUtterance,
  type GeminiSettings,
} from './gemini';
import { localIso, parseLocalDateTime } from './tools';

/**
 * Action extraction ("inference"): does an utterance ask for something to be done later? One model call
 * with a response schema; the answer is validated, and a malformed one is asked for once more.
 */

export const ACTION_TYPES = ['remind', 'schedule', 'contact'] as const;
export type ExtractedActionType = (typeof ACTION_TYPES)[number];

/** What the model fills in; the same schema is sent as the response schema and validates the answer. */
const extractionShape = z.object({
  action_type: z
    .enum([...ACTION_TYPES, 'none'])
    .describe(
      'remind: the speaker wants to be reminded of something; schedule: an appointment or event to put in a ' +
        'calendar; contact: someone should be called, messaged or emailed; none: no action is asked for',
    ),
  title: z
    .string()
    .describe('Short imperative description of the action, e.g. "Call Anna"; empty when action_type is none'),
  scheduled_time: z
    .string()
    .nullable()
    .describe(
      'When it is due, as ISO 8601 local date-time in the network time zone without offset ' +
        '(e.g. 2026-01-02T09:00:00), resolved against the current time; null when no time is given',
    ),
  contact: z
    .string()
    .nullable()
    .describe('The person or organisation to contact, when there is one, else null'),
});

const extractionAnswer = extractionShape.refine((a) => a.action_type === 'none' || a.title.trim() !== '', {
  message: 'title is required for an action',
  path: ['title'],
});

const { $schema: _ignored, ...EXTRACTION_JSON_SCHEMA } = z.toJSONSchema(extractionShape) as Record<
  string,
  unknown
>;

const EXTRACTION_PROMPT = [
  'You read one utterance captured by a home voice assistant called Mira, with its conversation so far.',
  'Decide whether the utterance asks for an action: a reminder, a calendar entry, or contacting someone.',
  'Only the utterance itself counts; the conversation is context to resolve references like "her" or "then".',
  'Resolve relative times ("tomorrow at nine") against the current local time you are given.',
  'When nothing is asked for, answer with action_type none.',
].join(' ');

export interface ExtractActionRequest {
  /** The utterance to read. */
  text: string;
  speaker?: string;
  /** Earlier utterances of its conversation, oldest first. */
  context?: ContextUtterance[];
  /** IANA zone of the network: the model's local times are read in it. */
  timeZone: string;
  now?: Date;
  settings?: GeminiSettings;
  /** Bound on the whole call including retries, in ms. */
  deadlineMs?: number;
}

export interface ExtractedAction {
  actionType: ExtractedActionType;
  title: string;
  /** The due time, when the model gave one that parses. */
  scheduledTime: Date | null;
  /** The model's time as written (kept when it does not parse). */
  scheduledTimeText: string | null;
  contact: string | null;
}

const stamp = (value: Date | string | undefined) =>
  value === undefined ? '' : `[${value instanceof Date ? value.toISOString() : value}] `;

function extractionPrompt(request: ExtractActionRequest, now: Date): string {
  const weekday = new Intl.DateTimeFormat('en-US', { timeZone: request.timeZone, weekday: 'long' }).format(
    now,
  );
  const lines = [
    `Current local time: ${localIso(request.timeZone, now)} (${weekday}, ${request.timeZone}).`,
    '',
  ];
  if (request.context?.length) {
    lines.push('Conversation so far, oldest first:');
    for (const u of request.context) lines.push(`${stamp(u.timestamp)}${u.speaker ?? 'Someone'}: ${u.text}`);
    lines.push('');
  }
  lines.push(`Utterance from ${request.speaker ?? 'someone'}: ${request.text}`);
  return lines.join('\n');
}

/**
 * The action the utterance asks for, or null when it asks for none. Errors: InferenceUnavailableError (503:
 * no key, or rate-limited after retries), InferenceFailedError (502: malformed twice, timeout, 5xx).
 */
export async function extractAction(request: ExtractActionRequest): Promise<ExtractedAction | null> {
  const settings = request.settings ?? geminiSettings();
  if (!settings.apiKey) throw new InferenceUnavailableError();
  const client = await clientFor(settings);
  const now = request.now ?? new Date();
  const call = {
    model: settings.model,
    contents: [{ role: 'user', parts: [{ text: extractionPrompt(request, now) }] }],
    config: {
      systemInstruction: EXTRACTION_PROMPT,
      responseMimeType: 'application/json',
      responseJsonSchema: EXTRACTION_JSON_SCHEMA,
      ...generationSettings(settings.model, 'action_extraction', { deterministic: true }),
      abortSignal: AbortSignal.timeout(request.deadlineMs ?? 25_000),
    } satisfies GenerateContentConfig,
  };

  const answer = await generateStructured(client, call, extractionAnswer, {
    what: 'Inference',
    unavailable: (detail) => new InferenceUnavailableError(detail, RATE_LIMITED_RETRY_AFTER),
    failed: (detail, cause) => new InferenceFailedError(detail, cause),
  });
  return toAction(answer, request.timeZone);
}

function toAction(answer: z.output<typeof extractionAnswer>, timeZone: string): ExtractedAction | null {
  if (answer.action_type === 'none') return null;
  const timeText = answer.scheduled_time?.trim() || null;
  return {
    actionType: answer.action_type,
    title: answer.title.trim(),
    scheduledTime: timeText ? (parseLocalDateTime(timeText, timeZone) ?? null) : null,
    scheduledTimeText: timeText,
    contact: answer.contact?.trim() || null,
  };
}
