import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { warmUpAudioModelsInLambda } from '../../shared/audio/warm-up';
import { config } from '../../shared/config';
import { logger } from '../../shared/observability';
import { processJob, utteranceQueue, type UtteranceJob } from '../interactions/worker';

/**
 * The register worker in AWS: consumes the utterance queue (SQS) with partial batch failures
 * (`ReportBatchItemFailures`), so one failing message is retried alone. SQS delivers at least once: the
 * processing is idempotent by utterance id (functions/interactions/worker.ts). A message that must wait
 * (a rival copy is still being processed) is sent again with a delay and this delivery is acknowledged;
 * a failure is reported and comes back after the visibility timeout, until the redrive policy's
 * maxReceiveCount (`QUEUE_MAX_ATTEMPTS`) moves it to the dead-letter queue. The last delivery marks the
 * utterance failed (and tells the device) instead of failing again.
 */
// The first job of a cold instance should not wait for the model sessions: see shared/audio/warm-up.ts.
warmUpAudioModelsInLambda();

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const { maxAttempts } = config().pipeline;
  // The records of a batch at once: each is its own utterance (or batch), and the model calls overlap.
  const outcomes = await Promise.all(
    event.Records.map(async (record) => {
      try {
        const body = JSON.parse(record.body) as UtteranceJob;
        const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
        const outcome = await processJob({ body, attempt, lastAttempt: attempt >= maxAttempts });
        if (outcome) await utteranceQueue().send(body, { delayMs: outcome.retryAfterMs });
        return undefined;
      } catch (error) {
        logger.warn('utterance job failed', { messageId: record.messageId, error });
        return { itemIdentifier: record.messageId };
      }
    }),
  );
  return { batchItemFailures: outcomes.filter((failure) => failure !== undefined) };
};
