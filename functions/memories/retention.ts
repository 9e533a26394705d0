import * as z from 'zod';
import type { Db } from '../../shared/db/client';
import {
  deleteCopies,
  deleteEmptyConversationsBefore,
  interactionsBefore,
  networksWithRetention,
  strayCopiesBefore,
} from '../../shared/db/repositories/erasure';
import { findNetwork, mergeNetworkSettings } from '../../shared/db/repositories/networks';
import { inTransaction } from '../../shared/db/transaction';
import { networkNotFound } from '../../shared/errors';
import { logger } from '../../shared/observability';
import { audioStorage } from '../../shared/storage';
import { eraseWithDerived } from './erasure';

/**
 * The network setting `retention_days`: interactions older than that are deleted by the memory sweep,
 * with what derives only from them (their embeddings, Mira's replies, the register copies and their
 * audio, the memories drawn from them, the conversations left empty). Two things outlive them, unlinked:
 * a **confirmed** memory (the household agreed on it; it is what Mira knows, not a transcript) and an
 * action still to do (a reminder set months ahead must still ring). Null or absent: keep everything.
 */
export const retentionSchema = z
  .object({
    retention_days: z
      .int()
      .min(1)
      .max(36500)
      .nullable()
      .meta({ description: 'Days interactions are kept; null keeps them forever (the default)' }),
  })
  .meta({ id: 'RetentionSettings', example: { retention_days: 90 } });

const daysOf = (settings: Record<string, unknown> | null) => {
  const days = Number(settings?.retention_days);
  return Number.isInteger(days) && days > 0 ? days : null;
};

export async function retentionSettings(db: Db, networkId: string) {
  const network = await findNetwork(db, networkId);
  if (!network) throw networkNotFound();
  return { retention_days: daysOf(network.settings) };
}

export async function updateRetention(db: Db, networkId: string, days: number | null) {
  const network = await mergeNetworkSettings(db, networkId, { retention_days: days });
  if (!network) throw networkNotFound();
  return { retention_days: daysOf(network.settings) };
}

/** Interactions deleted per transaction, and at most per network and sweep (the next sweep goes on). */
const BATCH = 200;
const PER_SWEEP = 2000;

/**
 * One pass of retention over every network that has it. Each batch is one transaction (its audio is
 * deleted just before, see eraseWithDerived), so a failure leaves whole interactions, never half of one;
 * a network that fails is logged and retried by the next sweep, the others go on.
 */
export async function runRetention(db: Db, now: Date): Promise<number> {
  let deleted = 0;
  for (const { networkId, days } of await networksWithRetention(db)) {
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    try {
      for (let done = 0; done < PER_SWEEP;) {
        const ids = await interactionsBefore(db, networkId, cutoff, BATCH);
        if (ids.length === 0) break;
        const erased = await eraseWithDerived(db, networkId, ids, {
          keepOpen: true,
          rewriteSummaries: false,
        });
        if (erased.interactions.length === 0) break;
        done += erased.interactions.length;
        deleted += erased.interactions.length;
      }
      for (;;) {
        const copies = await strayCopiesBefore(db, networkId, cutoff, BATCH);
        if (copies.length === 0) break;
        for (const { audio_key } of copies) if (audio_key) await audioStorage().delete(audio_key);
        await inTransaction(db, (trx) =>
          deleteCopies(
            trx,
            networkId,
            copies.map((c) => c.id),
          ),
        );
      }
      while (
        (await inTransaction(db, (trx) => deleteEmptyConversationsBefore(trx, networkId, cutoff, BATCH))) > 0
      );
    } catch (error) {
      logger.warn('retention failed for a network', { networkId, error: String(error) });
    }
  }
  return deleted;
}
