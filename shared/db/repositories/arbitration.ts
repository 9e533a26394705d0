import { advisoryLock, inTransaction, type Executor } from '../transaction';
import { sql } from 'kysely';
import type { Db } from '../client';

/**
 * Arbitration between clients of one network that upload the same utterance: exactly one interaction is
 * stored, from the best-scoring copy. Decided in PostgreSQL because concurrent Lambdas serve one network.
 *
 * Two steps around the expensive work:
 * 1. `claimUtterance` before the model call (cheap): under a per-network advisory lock, compare with the
 *    other clients' live claims whose capture time lies within the window. A copy no better than the best
 *    live claim is dropped at once (ties go to the earlier claim). A better copy wins and supersedes the
 *    live claims still `processing`.
 * 2. `finaliseClaim` inside the transaction that stores the interaction: a conditional update of the claim
 *    row (`processing` -> `stored`). A superseded claim cannot be finalised; its owner rolls back and answers
 *    "better audio streams" with the claim that beat it. `releaseClaim` when the work is abandoned.
 *
 * The choice for a better copy arriving after a worse one: it wins if the worse one has not been stored
 * yet (the worse one's model call is wasted, which is the cost of storing the best audio); once the worse
 * one is stored, the better copy is dropped, because one stored interaction per utterance is the hard rule
 * and it is already answered. The claimer locks the rivals' rows (FOR UPDATE) before deciding, so a
 * finalise that is committing is waited for and then seen; finalisers never take the advisory lock, so the
 * two cannot deadlock.
 *
 * A client's own earlier claims are not rivals: a device does not hear its own utterance twice (retries of
 * one upload are the idempotency key's business), and two quick utterances of one device must both count.
 */

export const DEFAULT_ARBITRATION_WINDOW_MS = 1_500;
/** Claims older than this are pruned (far beyond any request's life: API Gateway gives 30 s). */
const CLAIM_RETENTION = '10 minutes';

export interface ClaimRequest {
  networkId: string;
  clientId: string;
  /** When the client captured the utterance (its `captured_at`, else the arrival time). */
  capturedAt: Date;
  /** The copy's quality score; higher is better. */
  score: number;
  windowMs?: number;
}

export type ClaimOutcome =
  | { outcome: 'winner'; claimId: string; supersededClaimIds: string[] }
  | { outcome: 'dropped'; bestClientId: string; bestScore: number; bestClaimId: string };

export type FinaliseOutcome =
  | { outcome: 'stored' }
  | { outcome: 'superseded'; bestClientId: string; bestScore: number; bestClaimId: string };

/** Thrown inside the claim transaction to undo a half-taken decision; never escapes. */
class Lost extends Error {
  constructor(readonly best: { id: string; client_id: string; score: number }) {
    super('lost');
  }
}

export async function claimUtterance(db: Db, request: ClaimRequest): Promise<ClaimOutcome> {
  const windowMs = request.windowMs ?? DEFAULT_ARBITRATION_WINDOW_MS;
  const from = new Date(request.capturedAt.getTime() - windowMs);
  const to = new Date(request.capturedAt.getTime() + windowMs);
  try {
    return await inTransaction(db, async (trx) => {
      // One arbiter per network at a time; networks do not wait for each other.
      await advisoryLock(trx, 'arbitration', request.networkId);
      await trx
        .deleteFrom('utterance_claims')
        .where('network_id', '=', request.networkId)
        .where('created_at', '<', sql<Date>`now() - ${CLAIM_RETENTION}::interval`)
        .execute();
      // FOR UPDATE waits for a finalise in flight and then returns the row as committed.
      const rivals = await trx
        .selectFrom('utterance_claims')
        .select(['id', 'client_id', 'score', 'status'])
        .where('network_id', '=', request.networkId)
        .where('client_id', '<>', request.clientId)
        .where('status', 'in', ['processing', 'stored'])
        .where('captured_at', '>=', from)
        .where('captured_at', '<=', to)
        .orderBy('created_at')
        .forUpdate()
        .execute();
      const live = rivals;
      const stored = live.find((r) => r.status === 'stored');
      if (stored) throw new Lost(stored);
      const best = live.reduce<(typeof live)[number] | undefined>(
        (top, r) => (!top || r.score > top.score ? r : top),
        undefined,
      );
      if (best && request.score <= best.score) throw new Lost(best);

      const claim = await trx
        .insertInto('utterance_claims')
        .values({
          network_id: request.networkId,
          client_id: request.clientId,
          captured_at: request.capturedAt,
          score: request.score,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const superseded = live.map((r) => r.id);
      if (superseded.length) {
        await trx
          .updateTable('utterance_claims')
          .set({ status: 'superseded', superseded_by: claim.id, updated_at: sql<Date>`now()` })
          .where('id', 'in', superseded)
          .execute();
      }
      return { outcome: 'winner' as const, claimId: claim.id, supersededClaimIds: superseded };
    });
  } catch (error) {
    if (error instanceof Lost)
      return {
        outcome: 'dropped',
        bestClientId: error.best.client_id,
        bestScore: error.best.score,
        bestClaimId: error.best.id,
      };
    throw error;
  }
}

/**
 * Make a winning claim final. Call it inside the transaction that stores the interaction, before the
 * writes (it locks the claim row, so a better copy arriving now waits for the commit and is then dropped).
 * `superseded` means a better copy took over: roll back and answer with the claim that beat this one.
 */
export async function finaliseClaim(
  trx: Executor,
  claimId: string,
  interactionId?: string,
): Promise<FinaliseOutcome> {
  const updated = await trx
    .updateTable('utterance_claims')
    .set({
      status: 'stored',
      updated_at: sql<Date>`now()`,
      ...(interactionId ? { interaction_id: interactionId } : {}),
    })
    .where('id', '=', claimId)
    .where('status', '=', 'processing')
    .returning('id')
    .executeTakeFirst();
  if (updated) return { outcome: 'stored' };
  const best = await winnerOf(trx, claimId);
  return { outcome: 'superseded', bestClientId: best.client_id, bestScore: best.score, bestClaimId: best.id };
}

/** Record the stored interaction on a finalised claim (when it was inserted after `finaliseClaim`). */
export async function linkClaimInteraction(
  trx: Executor,
  claimId: string,
  interactionId: string,
): Promise<void> {
  await trx
    .updateTable('utterance_claims')
    .set({ interaction_id: interactionId })
    .where('id', '=', claimId)
    .execute();
}

/**
 * Give up a claim (no speech, a model failure, a rollback): it stops blocking later copies of the
 * utterance. A no-op on a claim that was stored or superseded meanwhile.
 */
export async function releaseClaim(db: Executor, claimId: string): Promise<void> {
  await db
    .updateTable('utterance_claims')
    .set({ status: 'released', updated_at: sql<Date>`now()` })
    .where('id', '=', claimId)
    .where('status', '=', 'processing')
    .execute();
}

/** Follow `superseded_by` to the claim that finally beat this one (a short chain: one per better copy). */
async function winnerOf(
  db: Executor,
  claimId: string,
): Promise<{ id: string; client_id: string; score: number }> {
  let current = claimId;
  for (let hop = 0; hop < 32; hop++) {
    const row = await db
      .selectFrom('utterance_claims')
      .select(['id', 'client_id', 'score', 'status', 'superseded_by'])
      .where('id', '=', current)
      .executeTakeFirst();
    if (!row) throw new Error(`Arbitration claim ${claimId} not found`);
    if (row.status !== 'superseded' || !row.superseded_by || hop === 31) return row;
    current = row.superseded_by;
  }
  throw new Error('unreachable');
}
