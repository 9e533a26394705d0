import { isGeminiConfigured } from '../../shared/ai';
import { config } from '../../shared/config';
import type { Db } from '../../shared/db/client';
import { findConversation } from '../../shared/db/repositories/conversations';
import { expireMemories } from '../../shared/db/repositories/memories';
import { conversationsDueForSummary, endQuietConversations } from '../../shared/db/repositories/summaries';
import type { EpisodicMemory } from '../../shared/db/types';
import { logger } from '../../shared/observability';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { toConversation } from '../conversations/schemas';
import { runRetention } from './retention';
import { embedPending } from './search';
import { announceMemories, summarizeQuietly } from './service';

/** Conversations summarised per sweep at most; the next sweep takes the rest. */
const SUMMARIES_PER_SWEEP = 20;

export interface SweepReport {
  ended: number;
  summarized: number;
  expired: number;
  embedded: number;
  /** Interactions deleted by the networks' `retention_days`. */
  retained_out: number;
}

/**
 * The periodic housekeeping of memory (a timer locally, a schedule in AWS): ends the conversations that
 * went quiet, summarises the ones whose summary is behind (ended, or open with enough new utterances for
 * the rolling summary), expires the memories whose time has passed, and applies each network's
 * `retention_days`. Safe to run concurrently: every
 * step is a conditional update or runs under the conversation's summary lock.
 */
export async function runMemorySweep(db: Db, now = new Date()): Promise<SweepReport> {
  const cfg = config().memory;
  const ended = await endQuietConversations(db, new Date(now.getTime() - cfg.quietSeconds * 1000));
  for (const { id, network_id } of ended) {
    const conversation = await findConversation(db, network_id, id);
    if (conversation)
      await publishToNetwork(db, network_id, { event: 'conversation', data: toConversation(conversation) });
  }
  let summarized = 0;
  if (isGeminiConfigured()) {
    const due = await conversationsDueForSummary(db, {
      rollingEvery: cfg.rollingSummaryEvery,
      limit: SUMMARIES_PER_SWEEP,
    });
    for (const { id, network_id } of due) {
      await summarizeQuietly(db, network_id, id);
      summarized++;
    }
  }
  const expired = await expireMemories(db, now);
  const byNetwork = new Map<string, EpisodicMemory[]>();
  for (const memory of expired)
    byNetwork.set(memory.network_id, [...(byNetwork.get(memory.network_id) ?? []), memory]);
  for (const [networkId, memories] of byNetwork) await announceMemories(db, networkId, memories);
  let embedded = 0;
  try {
    embedded = await embedPending(db);
  } catch (error) {
    // The next sweep tries again; search falls back to full-text for what is not embedded yet.
    logger.warn('embedding stored texts failed', { error: String(error) });
  }
  const retainedOut = await runRetention(db, now);
  const report = {
    ended: ended.length,
    summarized,
    expired: expired.length,
    embedded,
    retained_out: retainedOut,
  };
  if (report.ended || report.summarized || report.expired || report.embedded || report.retained_out)
    logger.info('memory sweep', { ...report });
  return report;
}
