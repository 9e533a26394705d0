import type { GenerateContentConfig, ThinkingLevel } from '@google/genai';

// The SDK's ThinkingLevel values, spelled here so this module does not load the SDK (it is loaded lazily,
// on the first model call: shared/ai/gemini.ts).
const LEVEL = {
  MINIMAL: 'MINIMAL' as ThinkingLevel,
  LOW: 'LOW' as ThinkingLevel,
  MEDIUM: 'MEDIUM' as ThinkingLevel,
  HIGH: 'HIGH' as ThinkingLevel,
};

/**
 * How hard the model thinks, per kind of call. A person waits for the model more than for anything else,
 * and Gemini 3 models think at their default level (medium on Flash) unless told: transcription with
 * enrichment and short commands are transcription and slot filling, where thinking adds latency and tokens
 * and no accuracy; memory extraction and summaries weigh a whole conversation, where it pays.
 */
export type ModelCall =
  /** Transcribe and enrich one utterance (the register pipeline, on every utterance). */
  | 'transcription'
  /** A spoken or typed command with its tools (the person is waiting for the answer). */
  | 'command'
  /** Whether an utterance asks for a reminder, an appointment or a contact. */
  | 'action_extraction'
  /** What is worth remembering from a conversation. */
  | 'memory_extraction'
  /** A conversation's title and summary. */
  | 'summary';

export const THINKING_LEVELS: Record<ModelCall, ThinkingLevel> = {
  transcription: LEVEL.MINIMAL,
  command: LEVEL.LOW,
  action_extraction: LEVEL.LOW,
  memory_extraction: LEVEL.HIGH,
  summary: LEVEL.HIGH,
};

/** The generation of a `gemini-N...` model name (3 for `gemini-3.8-flash`); undefined for other names. */
const generationOf = (model: string): number | undefined => {
  const match = /^(?:models\/)?gemini-(\d+)(?:[.-]|$)/i.exec(model);
  return match ? Number(match[1]) : undefined;
};

/**
 * The generation settings of one call to `model`, to spread into its GenerateContentConfig:
 *
 * - Gemini 3 and later: `thinkingConfig.thinkingLevel` for the call, and no `temperature` (these models
 *   are tuned for their default; Google advises against lowering it, which can loop or degrade reasoning).
 *   Pro models know only low and high: minimal becomes low, medium high.
 * - Older models (2.x thinks by budget, not level): `temperature: 0` for structured calls, as before.
 */
export function generationSettings(
  model: string,
  call: ModelCall,
  options: { deterministic?: boolean } = {},
): Pick<GenerateContentConfig, 'thinkingConfig' | 'temperature'> {
  const generation = generationOf(model);
  if (generation === undefined || generation < 3) return options.deterministic ? { temperature: 0 } : {};
  let level = THINKING_LEVELS[call];
  if (/-pro\b/i.test(model)) {
    if (level === LEVEL.MINIMAL) level = LEVEL.LOW;
    if (level === LEVEL.MEDIUM) level = LEVEL.HIGH;
  }
  return { thinkingConfig: { thinkingLevel: level } };
}
