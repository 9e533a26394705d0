import { performance } from 'node:perf_hooks';
import {
  CommandUnavailableError,
  isGeminiConfigured,
  streamCommand,
  transcribeAndEnrich,
  type CommandStreamEvent,
} from '../../shared/ai';
import { analyzeAudio } from '../../shared/audio';
import { speechOnly } from '../../shared/audio/speaker';
import type { Db } from '../../shared/db/client';
import { listActions } from '../../shared/db/repositories/actions';
import { findClient, findNetwork } from '../../shared/db/repositories/networks';
import { inTransaction } from '../../shared/db/transaction';
import { detectWakeWord, wakeWordSettings } from '../../shared/domain/wake-word';
import { clientNotFound, httpError, HttpError, networkNotFound, noSpeech } from '../../shared/errors';
import { countMetric, logger, metrics, MetricUnit } from '../../shared/observability';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { toAction } from '../actions/schemas';
import { conversationContext, recordInteraction } from '../interactions/service';
import { speakerMetadata } from '../interactions/metadata';
import { toInteraction } from '../interactions/schemas';
import { resolveSpeaker, speakerEvidence, speakerPolicy } from '../persons/service';
import { voiceTools } from './tools';

/** One event of the answer's text/event-stream, as the 4.x app's command client reads it. */
export type VoiceEvent =
  | { type: 'transcript'; text: string }
  | CommandStreamEvent
  | { type: 'error'; message: string }
  | { type: 'done' };

export const sse = (event: VoiceEvent): string => `data: ${JSON.stringify(event)}\n\n`;

export interface VoiceRequest {
  networkId: string;
  clientId: string;
  audio: Uint8Array;
}

/** Said when the model could not answer; the utterance stays stored. */
const FAILED_REPLY = 'Sorry, I could not answer that right now. Please try again in a moment.';

/**
 * `POST P/actions/voice`. Everything that can be refused is checked before the first byte (the usual JSON
 * errors): the network and client, Gemini, the audio and its speech. Then the answer streams: the
 * transcript, the reply's tokens and the tools around them, `done` last. The utterance is stored as a
 * command interaction, the reply as a `system` interaction of the same conversation, and both are
 * published, with `command_response` and the actions the tools made.
 */
export async function startVoiceCommand(db: Db, request: VoiceRequest): Promise<AsyncIterable<string>> {
  const { networkId, clientId } = request;
  const network = await findNetwork(db, networkId);
  if (!network) throw networkNotFound();
  if (!(await findClient(db, networkId, clientId))) throw clientNotFound(clientId);
  if (!network.service_enabled)
    throw httpError(
      'SERVICE_DISABLED',
      'The service is disabled for this network; enable it to give commands',
    );
  if (!isGeminiConfigured()) throw new CommandUnavailableError();
  const analysis = await analyzeAudio(request.audio, { pcm16Fallback: true });
  if (analysis.vad.segments.length === 0) throw noSpeech();
  return answer(db, request, analysis, network.settings ?? {});
}

async function* answer(
  db: Db,
  request: VoiceRequest,
  analysis: Awaited<ReturnType<typeof analyzeAudio>>,
  settings: Record<string, unknown>,
): AsyncGenerator<string> {
  const { networkId, clientId } = request;
  const started = performance.now();
  try {
    const heard = await transcribeAndEnrich(speechOnly(analysis.samples, analysis.vad.segments));
    const text = heard.text.trim();
    if (!text) {
      yield sse({ type: 'error', message: 'No intelligible speech was found in the audio' });
      return;
    }
    yield sse({ type: 'transcript', text });
    const wake = wakeWordSettings(settings);
    const command = detectWakeWord(text, wake.wakeWords, wake.threshold).command || text;

    const capturedAt = new Date();
    const { interaction, speaker } = await inTransaction(db, async (trx) => {
      // The register pipeline's decision, quality gate included: the command's speaker is who a
      // registered utterance of the same audio would be attributed to.
      const speaker = await resolveSpeaker(
        trx,
        networkId,
        speakerEvidence(analysis),
        speakerPolicy(settings),
      );
      const interaction = await recordInteraction(trx, {
        networkId,
        personId: speaker.personId,
        clientId,
        interactionType: 'audio',
        text,
        timestamp: capturedAt,
        language: heard.language,
        sentiment: heard.sentiment,
        entities: heard.entities,
        topics: heard.topics,
        isCommand: true,
        voiceEmbedding: analysis.embedding ? Array.from(analysis.embedding) : null,
        metadata: { source: 'voice_command', client_id: clientId, speaker: speakerMetadata(speaker) },
      });
      return { interaction, speaker };
    });
    await publishToNetwork(db, networkId, { event: 'interaction', data: toInteraction(interaction) });

    const { earlier } = await conversationContext(db, interaction);
    const tools = voiceTools({
      db,
      networkId,
      origin: {
        personId: speaker.personId,
        interactionId: interaction.id,
        conversationId: interaction.conversation_id,
      },
      clientId,
      commandId: interaction.id,
      commandAt: capturedAt,
    });
    let reply = FAILED_REPLY;
    let first = true;
    try {
      const stream = streamCommand({
        utterance: command,
        speaker: speaker.name ?? undefined,
        context: earlier,
        tools,
      });
      for (;;) {
        const step = await stream.next();
        if (step.done) {
          reply = step.value.text;
          break;
        }
        if (first && step.value.type === 'token') {
          first = false;
          metrics.addMetric('VoiceFirstTokenLatency', MetricUnit.Milliseconds, performance.now() - started);
        }
        yield sse(step.value);
      }
      countMetric('Commands');
    } catch (error) {
      countMetric('CommandFailures');
      logger.warn('voice command failed', { error: String(error) });
      yield sse({ type: 'error', message: error instanceof HttpError ? error.message : FAILED_REPLY });
    }

    const answered = await recordInteraction(db, {
      networkId,
      personId: null,
      clientId,
      conversationId: interaction.conversation_id,
      interactionType: 'system',
      text: reply,
      metadata: { source: 'voice_command', in_reply_to: interaction.id },
    });
    await publishToNetwork(db, networkId, { event: 'interaction', data: toInteraction(answered) });
    await publishToNetwork(db, networkId, {
      event: 'command_response',
      data: { interaction_id: interaction.id, message: reply },
    });
    for (const action of await listActions(db, networkId, { interactionId: interaction.id }))
      await publishToNetwork(db, networkId, { event: 'action', data: toAction(action) });
  } catch (error) {
    logger.warn('voice command stream failed', { error: String(error) });
    yield sse({
      type: 'error',
      message: error instanceof HttpError ? error.message : 'The command could not be completed',
    });
  } finally {
    yield sse({ type: 'done' });
  }
}
