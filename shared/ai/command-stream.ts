import type { Content, GenerateContentResponse, Part } from '@google/genai';
import { CommandFailedError, CommandUnavailableError } from './errors';
import {
  clientFor,
  commandConfiguration,
  describeFailure,
  geminiSettings,
  isRateLimited,
  RATE_LIMITED_RETRY_AFTER,
  type CommandRequest,
  type Tool,
  type ToolCallRecord,
} from './gemini';
import { recordModelFailure, recordModelSuccess } from './health';
import { generationSettings } from './thinking';

/**
 * The streamed voice command: the same function-calling loop as `runCommand`, with every model turn
 * streamed (`streamGenerateContent`, server-sent events) so the reply's first words can be said while the
 * rest is still being written. Each step is yielded as the voice route sends it on.
 */

export type CommandStreamEvent =
  | { type: 'token'; text: string }
  | { type: 'tool_call'; tool: string; status: 'running' }
  | { type: 'tool_result'; tool: string; ok: boolean; summary?: string };

/** A tool of the voice command: it may say in a few words what it did (the app shows it). */
export interface VoiceTool extends Tool {
  summarize?: (result: unknown) => string;
}

/** Thrown by a tool that cannot run here (not configured): the model and the user are told so. */
export class ToolUnavailableError extends Error {
  override name = 'ToolUnavailableError';
}

export interface StreamedCommandResult {
  text: string;
  toolCalls: ToolCallRecord[];
  iterations: number;
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const promptOf = (request: CommandRequest): string => {
  const lines: string[] = [];
  if (request.context?.length) {
    lines.push('Recent conversation, oldest first:');
    for (const u of request.context) lines.push(`${u.speaker ?? 'Someone'}: ${u.text}`);
    lines.push('');
  }
  lines.push(`Command from ${request.speaker ?? 'the user'}: ${request.utterance}`);
  return lines.join('\n');
};

/** Streams one command; returns the whole reply when the model has finished. */
export async function* streamCommand(
  request: CommandRequest & { tools: VoiceTool[] },
): AsyncGenerator<CommandStreamEvent, StreamedCommandResult> {
  const settings = request.settings ?? geminiSettings();
  if (!settings.apiKey) throw new CommandUnavailableError();
  const client = await clientFor(settings);
  const maxIterations = request.maxIterations ?? 5;
  const toolsByName = new Map<string, VoiceTool>(request.tools.map((tool) => [tool.name, tool]));
  const deadline = AbortSignal.timeout(request.deadlineMs ?? 60_000);
  const contents: Content[] = [{ role: 'user', parts: [{ text: promptOf(request) }] }];
  const configuration = commandConfiguration(settings.model, request, deadline);
  const toolCalls: ToolCallRecord[] = [];
  let reply = '';

  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    // The model's turn, as streamed: its parts are sent back verbatim on the next turn (thought signatures).
    const turnParts: Part[] = [];
    let stream: AsyncGenerator<GenerateContentResponse>;
    try {
      stream = await client.models.generateContentStream({
        model: settings.model,
        contents,
        config: configuration,
      });
      for await (const chunk of stream) {
        const parts = chunk.candidates?.[0]?.content?.parts ?? [];
        for (const part of parts) {
          if (part.text !== undefined && !part.thought) {
            if (part.text) {
              reply += part.text;
              yield { type: 'token', text: part.text };
            }
          }
          if (part.functionCall || part.thoughtSignature || part.thought) turnParts.push(part);
        }
      }
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
    const calls = turnParts.filter((p) => p.functionCall).map((p) => p.functionCall!);
    if (calls.length === 0) {
      if (!reply.trim()) throw new CommandFailedError('The command failed: the model gave no answer');
      return { text: reply.trim(), toolCalls, iterations: iteration };
    }
    contents.push({ role: 'model', parts: turnParts });
    const responses: Part[] = [];
    for (const call of calls) {
      const name = call.name ?? '';
      const args = call.args ?? {};
      const tool = toolsByName.get(name);
      const record: ToolCallRecord = { name, args };
      yield { type: 'tool_call', tool: name, status: 'running' };
      if (!tool) record.error = `Unknown tool: ${name}`;
      else {
        try {
          record.result = await tool.execute(args);
        } catch (error) {
          record.error = errorMessage(error);
        }
      }
      toolCalls.push(record);
      yield record.error === undefined
        ? { type: 'tool_result', tool: name, ok: true, summary: tool?.summarize?.(record.result) }
        : { type: 'tool_result', tool: name, ok: false, summary: record.error };
      responses.push({
        functionResponse: {
          ...(call.id ? { id: call.id } : {}),
          name,
          response: record.error === undefined ? { output: record.result } : { error: record.error },
        },
      });
    }
    contents.push({ role: 'user', parts: responses });
  }
  throw new CommandFailedError(`The command failed: no answer after ${maxIterations} model turns`);
}

export interface GroundedAnswer {
  answer: string;
  sources: { title: string; uri: string }[];
}

/**
 * One question answered with Gemini's built-in Google Search grounding (a call of its own: the search
 * tool does not mix with function declarations on every model). Its sources come from the grounding metadata.
 */
export async function groundedSearch(query: string, settings = geminiSettings()): Promise<GroundedAnswer> {
  if (!settings.apiKey) throw new ToolUnavailableError('web search needs Gemini, which is not configured');
  const client = await clientFor(settings);
  let response: GenerateContentResponse;
  try {
    response = await client.models.generateContent({
      model: settings.model,
      contents: [{ role: 'user', parts: [{ text: query }] }],
      config: {
        tools: [{ googleSearch: {} }],
        ...generationSettings(settings.model, 'command'),
        systemInstruction: 'Answer briefly from the search results, in one or two sentences.',
        abortSignal: AbortSignal.timeout(settings.timeoutMs * 2),
      },
    });
    recordModelSuccess();
  } catch (error) {
    recordModelFailure('web search', error, settings.maxAttempts);
    throw new Error(`web search failed: ${describeFailure(error)}`, { cause: error });
  }
  const chunks = response.candidates?.[0]?.groundingMetadata?.groundingChunks ?? [];
  return {
    answer: response.text?.trim() ?? '',
    sources: chunks
      .filter((c) => c.web?.uri)
      .map((c) => ({ title: c.web?.title ?? c.web!.uri!, uri: c.web!.uri! })),
  };
}
