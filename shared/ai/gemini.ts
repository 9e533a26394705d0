import type {
  Content,
  FunctionCall,
  FunctionCallingConfigMode,
  GenerateContentConfig,
  GenerateContentResponse,
  GoogleGenAI,
  Part,
} from '@google/genai';
import { isApiError } from './api-error';
import * as z from 'zod';
import { config, type AppConfig } from '../config';
import {
  CommandFailedError,
  CommandUnavailableError,
  TranscriptionFailedError,
  TranscriptionUnavailableError,
} from './errors';
import { recordModelFailure, recordModelSuccess } from './health';
import { traced } from '../observability/tracer';
import { generationSettings } from './thinking';
import { encodeWav, isWav, SAMPLE_RATE } from './wav';

/**
 * The Gemini port: every model call of Mira goes through this module, so swapping the model or the SDK
 * touches one folder. Built on Google's maintained `@google/genai` SDK; its own retry loop (p-retry) does the
 * bounded backoff on 408/429/5xx and its per-attempt timeout bounds each HTTP call.
 */

export interface GeminiSettings {
  apiKey: string | undefined;
  model: string;
  /** Endpoint override (tests' fake server, proxies); the SDK appends `/{apiVersion}/models/...`. */
  baseUrl: string | undefined;
  timeoutMs: number;
  maxAttempts: number;
  retryDelayMs: number;
}

export const geminiSettings = (cfg: AppConfig = config()): GeminiSettings => ({
  apiKey: cfg.geminiApiKey,
  model: cfg.geminiModel,
  baseUrl: cfg.geminiBaseUrl,
  timeoutMs: cfg.geminiTimeoutMs,
  maxAttempts: cfg.geminiMaxAttempts,
  retryDelayMs: cfg.geminiRetryDelayMs,
});

/** Retried by the SDK: request timeout, rate limit, and server-side failures. */
const RETRYABLE_STATUS = [408, 429, 500, 502, 503, 504];
const MAX_RETRY_DELAY_MS = 4_000;

let cachedClient: { key: string; client: GoogleGenAI } | undefined;
/**
 * The SDK, loaded on the first model call: evaluating it costs about 40 ms of every cold start, and many
 * requests (reads, device registration, a client's own transcript) never call the model.
 */
let sdk: Promise<typeof import('@google/genai')> | undefined;

/** The SDK client for these settings, cached per process. Internal to `shared/ai`. */
export async function clientFor(settings: GeminiSettings): Promise<GoogleGenAI> {
  const key = JSON.stringify(settings);
  if (cachedClient?.key === key) return cachedClient.client;
  const { GoogleGenAI } = await (sdk ??= import('@google/genai'));
  if (cachedClient?.key === key) return cachedClient.client;
  const client = new GoogleGenAI({
    apiKey: settings.apiKey,
    httpOptions: {
      ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}),
      timeout: settings.timeoutMs,
      retryOptions: {
        attempts: Math.max(1, settings.maxAttempts),
        initialDelay: settings.retryDelayMs / 1000,
        maxDelay: Math.max(settings.retryDelayMs, MAX_RETRY_DELAY_MS) / 1000,
        httpStatusCodes: RETRYABLE_STATUS,
      },
    },
  });
  cachedClient = { key, client };
  return client;
}

/** True when a key is configured, i.e. audio can be transcribed and commands can run. */
export const isGeminiConfigured = (settings: GeminiSettings = geminiSettings()): boolean =>
  Boolean(settings.apiKey);

/** Forget the cached SDK client (tests that change the environment). */
export const resetGemini = (): void => {
  cachedClient = undefined;
};

/** Seconds to wait before retrying, when the upstream is rate-limiting us (429 after all retries). */
export const RATE_LIMITED_RETRY_AFTER = 10;

export const isRateLimited = (error: unknown): boolean => isApiError(error) && error.status === 429;

export const describeFailure = (error: unknown): string => {
  if (isApiError(error)) return `the model answered HTTP ${error.status}`;
  // The per-attempt timeout and the caller's deadline abort fetch, which rejects with this DOMException.
  if (error instanceof DOMException && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return 'the model did not answer in time';
  return 'the model could not be reached';
};

// ---------------------------------------------------------------------------------------------------------
// Transcription and enrichment

/** BCP-47 checked and canonicalised by the runtime's own Intl, not a hand-written pattern. */
const bcp47 = z.string().transform((value, ctx) => {
  try {
    const [canonical] = Intl.getCanonicalLocales(value.trim());
    if (canonical) return canonical;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: 'custom', message: `not a BCP-47 language tag: ${value}` });
  return z.NEVER;
});

/** Exactly the fields the pipeline stores; the same schema validates the answer and is sent as the response schema. */
const enrichmentShape = z.object({
  text: z.string().describe('Verbatim transcript of the speech, in the language spoken'),
  language: z.string().describe('BCP-47 tag of the language spoken, e.g. en-US or de'),
  entities: z
    .array(
      z.object({
        text: z.string().describe('The entity as it appears in the transcript'),
        label: z.string().describe('Entity type, e.g. PERSON, PLACE, ORGANIZATION, DATE, TIME, EVENT'),
      }),
    )
    .describe('Named entities mentioned'),
  topics: z.array(z.string()).describe('A few short topics of the utterance, lower case'),
  sentiment: z.number().min(-1).max(1).describe('Sentiment from -1 (negative) to 1 (positive)'),
});

const enrichmentAnswer = enrichmentShape.extend({ language: bcp47 });

export type Enrichment = z.output<typeof enrichmentAnswer>;

const { $schema: _ignored, ...ENRICHMENT_JSON_SCHEMA } = z.toJSONSchema(enrichmentShape) as Record<
  string,
  unknown
>;

const TRANSCRIBE_PROMPT = [
  'You transcribe one utterance captured by a home voice assistant called Mira.',
  'Write exactly what is said, in the language it is said in; do not translate, summarise or answer it.',
  'Then give the language as a BCP-47 tag, the named entities, a few short topics and the sentiment.',
  'If there is no intelligible speech, answer with an empty text and no entities or topics.',
].join(' ');

export interface TranscribeOptions {
  /** A BCP-47 tag the speaker probably uses (a hint, not a constraint). */
  languageHint?: string;
  settings?: GeminiSettings;
  /** Bound on the whole call including retries, in ms. */
  deadlineMs?: number;
}

/**
 * Transcribe and enrich one utterance in ONE model call: the audio as inline WAV, a response schema, the
 * answer validated. A malformed answer is asked for once more; then TranscriptionFailedError (502).
 * Float samples must be 16 kHz mono; bytes must already be a WAV file.
 */
export async function transcribeAndEnrich(
  audio: Float32Array | Uint8Array,
  options: TranscribeOptions = {},
): Promise<Enrichment> {
  const settings = options.settings ?? geminiSettings();
  if (!settings.apiKey) throw new TranscriptionUnavailableError();
  let wav: Buffer;
  if (audio instanceof Float32Array) wav = encodeWav(audio, SAMPLE_RATE);
  else if (isWav(audio)) wav = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
  else throw new TypeError('transcribeAndEnrich takes 16 kHz mono float samples or WAV bytes');

  const client = await clientFor(settings);
  const deadline = AbortSignal.timeout(options.deadlineMs ?? 25_000);
  const hint = options.languageHint ? ` The speaker probably speaks ${options.languageHint}.` : '';
  const request = {
    model: settings.model,
    contents: [
      {
        role: 'user',
        parts: [
          { inlineData: { mimeType: 'audio/wav', data: wav.toString('base64') } },
          { text: `Transcribe and enrich this utterance.${hint}` },
        ],
      },
    ],
    config: {
      systemInstruction: TRANSCRIBE_PROMPT,
      responseMimeType: 'application/json',
      responseJsonSchema: ENRICHMENT_JSON_SCHEMA,
      ...generationSettings(settings.model, 'transcription', { deterministic: true }),
      abortSignal: deadline,
    } satisfies GenerateContentConfig,
  };

  return generateStructured(client, request, enrichmentAnswer, {
    what: 'Transcription',
    unavailable: (detail) => new TranscriptionUnavailableError(detail, RATE_LIMITED_RETRY_AFTER),
    failed: (detail, cause) => new TranscriptionFailedError(detail, cause),
  });
}

/** How a structured call reports failure: its name, and the errors of its unavailable (503) and failed (502) cases. */
export interface StructuredCallErrors {
  what: string;
  unavailable: (detail: string) => Error;
  failed: (detail: string, cause?: unknown) => Error;
}

/**
 * One structured-output call, its JSON answer validated by `schema`. Two tries: a malformed answer is
 * usually a one-off; a second malformed one means something is wrong. Transport retries (429, 5xx) are the
 * SDK's; a call still rate-limited after them is "unavailable", any other failure "failed".
 */
export async function generateStructured<T extends z.ZodType>(
  client: GoogleGenAI,
  request: Parameters<GoogleGenAI['models']['generateContent']>[0],
  schema: T,
  errors: StructuredCallErrors,
): Promise<z.output<T>> {
  let lastProblem = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    let response: GenerateContentResponse;
    try {
      response = await traced('gemini.generateContent', () => client.models.generateContent(request));
      recordModelSuccess();
    } catch (error) {
      recordModelFailure(errors.what, error, geminiSettings().maxAttempts);
      if (isRateLimited(error))
        throw errors.unavailable(`${errors.what} is rate-limited upstream; retry shortly`);
      throw errors.failed(`${errors.what} failed: ${describeFailure(error)}`, error);
    }
    const parsed = parseStructured(response, schema);
    if (parsed.ok) return parsed.value;
    lastProblem = parsed.reason;
  }
  const malformed = errors.failed(`${errors.what} failed: the model's answer was malformed (${lastProblem})`);
  recordModelFailure(errors.what, malformed, 1);
  throw malformed;
}

function parseStructured<T extends z.ZodType>(
  response: GenerateContentResponse,
  schema: T,
): { ok: true; value: z.output<T> } | { ok: false; reason: string } {
  const text = response.text;
  if (!text) return { ok: false, reason: 'empty answer' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.join('.') || 'answer'}: ${issue.message}` };
  }
  return { ok: true, value: parsed.data };
}

// ---------------------------------------------------------------------------------------------------------
// Commands with function calling

/** A tool the model may call. `parameters` is a JSON schema of an object. */
/**
 * The configuration of every turn of a command, typed (`runCommand`) or streamed (`streamCommand`): its
 * system prompt, the command's thinking level (low: slot filling, a person waiting) and its tools.
 */
export const commandConfiguration = (
  model: string,
  request: { systemPrompt?: string; tools: readonly Tool[] },
  abortSignal: AbortSignal,
): GenerateContentConfig => ({
  systemInstruction: request.systemPrompt ?? DEFAULT_COMMAND_PROMPT,
  ...generationSettings(model, 'command'),
  abortSignal,
  ...toolSettings(request.tools),
});

/**
 * The request settings that offer `tools` to the model: declared by their JSON schemas, called when the
 * model decides, and run by us turn by turn (the SDK's automatic calling is off). None without tools.
 */
export function toolSettings(tools: readonly Tool[]): GenerateContentConfig {
  if (tools.length === 0) return {};
  return {
    tools: [
      {
        functionDeclarations: tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          parametersJsonSchema: tool.parameters,
        })),
      },
    ],
    toolConfig: { functionCallingConfig: { mode: 'AUTO' as FunctionCallingConfigMode } },
    automaticFunctionCalling: { disable: true },
  };
}

export interface Tool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  execute(args: Record<string, unknown>): Promise<unknown>;
}

/** One earlier utterance of the conversation, oldest first. */
export interface ContextUtterance {
  speaker?: string;
  text: string;
  timestamp?: Date | string;
}

export interface CommandRequest {
  systemPrompt?: string;
  context?: ContextUtterance[];
  /** The command, usually the text after the wake word. */
  utterance: string;
  /** Who spoke it, for the prompt. */
  speaker?: string;
  tools: Tool[];
  /** Bound on model turns (each tool round is one); default 5. */
  maxIterations?: number;
  settings?: GeminiSettings;
  /** Bound on the whole loop including retries, in ms. */
  deadlineMs?: number;
}

export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
  result?: unknown;
  error?: string;
}

export interface CommandResult {
  /** The model's final answer, to be said to the user. */
  text: string;
  toolCalls: ToolCallRecord[];
  iterations: number;
}

export const DEFAULT_COMMAND_PROMPT = [
  'You are Mira, a voice assistant for a home or office.',
  'Answer the spoken command briefly, in one or two sentences, in the language of the command.',
  'Use the tools for facts about time, devices, people and reminders; never guess them.',
  'When you create a reminder, confirm what and when in your answer.',
].join(' ');

const stamp = (value: Date | string | undefined): string =>
  value === undefined ? '' : `[${value instanceof Date ? value.toISOString() : value}] `;

function commandPrompt(request: CommandRequest): string {
  const lines: string[] = [];
  if (request.context?.length) {
    lines.push('Recent conversation, oldest first:');
    for (const u of request.context) lines.push(`${stamp(u.timestamp)}${u.speaker ?? 'Someone'}: ${u.text}`);
    lines.push('');
  }
  lines.push(`Command from ${request.speaker ?? 'the user'}: ${request.utterance}`);
  return lines.join('\n');
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Run one command: send the tool declarations, execute the calls the model makes, send the results back,
 * until the model answers with text (at most `maxIterations` model turns). A tool that throws is reported to
 * the model as an error result, so it can say so instead of failing the whole command.
 */
export async function runCommand(request: CommandRequest): Promise<CommandResult> {
  const settings = request.settings ?? geminiSettings();
  if (!settings.apiKey) throw new CommandUnavailableError();
  const client = await clientFor(settings);
  const maxIterations = request.maxIterations ?? 5;
  const toolsByName = new Map(request.tools.map((tool) => [tool.name, tool]));
  const deadline = AbortSignal.timeout(request.deadlineMs ?? 25_000);
  const contents: Content[] = [{ role: 'user', parts: [{ text: commandPrompt(request) }] }];
  const configuration = commandConfiguration(settings.model, request, deadline);
  const toolCalls: ToolCallRecord[] = [];

  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    let response: GenerateContentResponse;
    try {
      response = await traced('gemini.command', () =>
        client.models.generateContent({ model: settings.model, contents, config: configuration }),
      );
      recordModelSuccess();
    } catch (error) {
      recordModelFailure('command', error, settings.maxAttempts);
      if (isRateLimited(error))
        throw new CommandUnavailableError(
          'Voice commands are rate-limited upstream; retry shortly',
          RATE_LIMITED_RETRY_AFTER,
        );
      throw new CommandFailedError(`The command failed: ${describeFailure(error)}`, error);
    }
    const calls: FunctionCall[] = response.functionCalls ?? [];
    if (calls.length === 0) {
      const text = response.text?.trim();
      if (!text) throw new CommandFailedError('The command failed: the model gave no answer');
      return { text, toolCalls, iterations: iteration };
    }
    // The model's turn goes back verbatim (it may carry thought signatures the API wants returned).
    contents.push(
      response.candidates?.[0]?.content ?? { role: 'model', parts: calls.map((c) => ({ functionCall: c })) },
    );
    const parts: Part[] = [];
    for (const call of calls) {
      const name = call.name ?? '';
      const args = call.args ?? {};
      const tool = toolsByName.get(name);
      const record: ToolCallRecord = { name, args };
      if (!tool) record.error = `Unknown tool: ${name}`;
      else {
        try {
          record.result = await tool.execute(args);
        } catch (error) {
          record.error = errorMessage(error);
        }
      }
      toolCalls.push(record);
      parts.push({
        functionResponse: {
          ...(call.id ? { id: call.id } : {}),
          name,
          response: record.error === undefined ? { output: record.result } : { error: record.error },
        },
      });
    }
    contents.push({ role: 'user', parts });
  }
  throw new CommandFailedError(`The command failed: no answer after ${maxIterations} model turns`);
}
