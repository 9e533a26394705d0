import { performance } from 'node:perf_hooks';
import { networkTools, runCommand } from '../../shared/ai';
import type { Db } from '../../shared/db/client';
import type { InteractionView } from '../../shared/db/repositories/interactions';
import { HttpError } from '../../shared/errors';
import { countMetric, logger, metrics, MetricUnit } from '../../shared/observability';
import type { ResolvedSpeaker } from '../persons/service';
import { conversationContext } from './service';

/** Said when the wake word was heard but the command could not be answered (the utterance is stored). */
export const COMMAND_FAILED_MESSAGE =
  'Sorry, I could not answer that right now. Please try again in a moment.';

/**
 * Runs a command with the network's tools and the conversation's recent context. A failure does not undo
 * the stored utterance (it was heard and is kept): the speaker gets an apology and the metric counts it.
 */
export async function answerCommand(
  db: Db,
  interaction: InteractionView,
  speaker: ResolvedSpeaker,
  command: string,
): Promise<string> {
  const networkId = interaction.network_id;
  const { earlier } = await conversationContext(db, interaction);
  const start = performance.now();
  try {
    const result = await runCommand({
      utterance: command,
      speaker: speaker.name ?? undefined,
      context: earlier,
      tools: networkTools(db, networkId, {
        personId: speaker.personId ?? undefined,
        interactionId: interaction.id,
        conversationId: interaction.conversation_id ?? undefined,
      }),
    });
    countMetric('Commands');
    return result.text;
  } catch (error) {
    countMetric('CommandFailures');
    if (error instanceof HttpError)
      logger.warn('command failed', { code: error.code, detail: error.message });
    else logger.error('command failed unexpectedly', { error });
    return COMMAND_FAILED_MESSAGE;
  } finally {
    metrics.addMetric(
      'GeminiCommandLatency',
      MetricUnit.Milliseconds,
      Math.round((performance.now() - start) * 100) / 100,
    );
  }
}
