import { sql } from 'kysely';
import type { Db } from '../client';
import { advisoryLock, inTransaction, type Executor } from '../transaction';
import type { JsonObject, Utterance } from '../types';

/**
 * Register v2's arbitration, decided in PostgreSQL (many Lambdas serve one network): copies of one
 * utterance are rows of `utterances` (see the migration 2026_12_01_0010). Every decision runs under the
 * network's arbitration lock, so two workers never decide one group differently.
 *
 * Rivals of a copy: the network's copies from OTHER clients whose capture time lies within the window (a
 * device does not hear its own utterance twice; two quick utterances of one device both count).
 */

/** Two capture times this close are one utterance heard by several devices. */
export const ARBITRATION_WINDOW_MS = 1_500;
/** A late copy replaces a stored winner's audio-derived fields only when it scores this much better. */
export const LATE_COPY_MARGIN = 0.1;
/** How soon a copy waiting for a rival that is being processed looks again. */
const RIVAL_POLL_MS = 250;

const window = (capturedAt: Date, windowMs: number) => ({
  from: new Date(capturedAt.getTime() - windowMs),
  to: new Date(capturedAt.getTime() + windowMs),
});

export interface NewUtterance {
  /** Made by the caller: the audio is stored under it before the row exists. */
  id: string;
  audioKey: string;
  networkId: string;
  clientId: string;
  capturedAt: Date;
  score: number;
  settleMs: number;
  rawPcm16: boolean;
  transcript: string | null;
  idempotencyKey: string | null;
  fingerprint: string | null;
  batchId?: string | null;
  /** The accept's VAD result and the SHA-256 of the bytes it was measured on, for the worker to reuse. */
  vad?: { segments: { startS: number; endS: number }[]; speechRatio: number; sha256: string } | null;
  /** A batch hands in copies recorded long ago: they do not wait for a settle window. */
  settles?: boolean;
}

/**
 * Records an accepted copy. It settles until the group's window closes: the first copy's arrival plus the
 * settle window, so copies that arrive later in the window do not stretch it.
 */
export async function insertUtterance(db: Db, input: NewUtterance): Promise<{ settleInMs: number }> {
  return inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'arbitration', input.networkId);
    const { from, to } = window(input.capturedAt, ARBITRATION_WINDOW_MS);
    const open = await trx
      .selectFrom('utterances')
      .select(sql<Date | null>`min(settle_until)`.as('settle_until'))
      .where('network_id', '=', input.networkId)
      .where('client_id', '<>', input.clientId)
      .where('status', '=', 'accepted')
      .where('captured_at', '>=', from)
      .where('captured_at', '<=', to)
      .executeTakeFirst();
    const settleUntil =
      input.settles === false
        ? sql<Date>`now()`
        : open?.settle_until
          ? sql<Date>`least(${open.settle_until}::timestamptz, now() + make_interval(secs => ${input.settleMs / 1000}))`
          : sql<Date>`now() + make_interval(secs => ${input.settleMs / 1000})`;
    const row = await trx
      .insertInto('utterances')
      .values({
        id: input.id,
        audio_key: input.audioKey,
        network_id: input.networkId,
        client_id: input.clientId,
        captured_at: input.capturedAt,
        score: input.score,
        settle_until: settleUntil,
        raw_pcm16: input.rawPcm16,
        transcript: input.transcript,
        idempotency_key: input.idempotencyKey,
        fingerprint: input.fingerprint,
        batch_id: input.batchId ?? null,
        vad: input.vad ? JSON.stringify(input.vad) : null,
      })
      .returning(['id', sql<number>`greatest(0, extract(epoch FROM settle_until - now()) * 1000)`.as('ms')])
      .executeTakeFirstOrThrow();
    return { settleInMs: Math.ceil(Number(row.ms)) };
  });
}

export async function findUtterance(
  db: Executor,
  networkId: string,
  id: string,
): Promise<Utterance | undefined> {
  return db
    .selectFrom('utterances')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findUtteranceById(db: Executor, id: string): Promise<Utterance | undefined> {
  return db.selectFrom('utterances').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUtteranceByKey(
  db: Executor,
  networkId: string,
  idempotencyKey: string,
): Promise<Utterance | undefined> {
  return db
    .selectFrom('utterances')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
}

export interface Rival {
  id: string;
  client_id: string;
  score: number;
}

export type Decision =
  | { kind: 'gone' }
  /** Already decided (stored, dropped or failed): nothing to do, the delivery was a duplicate. */
  | { kind: 'final'; utterance: Utterance }
  /** Not yet: its window is open, or a rival (or another delivery of itself) is being processed. */
  | { kind: 'wait'; retryAfterMs: number }
  /** Lost: `winner` is the better copy. */
  | { kind: 'dropped'; winner: Rival }
  /** Won: this delivery holds the lease and goes on to the model. `attempt` counts the leases taken. */
  | { kind: 'process'; utterance: Utterance }
  /** Arrived after the winner was stored and is clearly better: takes over its audio-derived fields. */
  | { kind: 'replace'; utterance: Utterance; stored: Utterance };

const droppedAnswer = (winner: Rival, clientId: string, message: string) => ({
  message,
  best_client_id: winner.client_id,
  best_score: winner.score,
  current_client_id: clientId,
});

/**
 * When a copy's window has closed: the best score of the group wins (ties: the earlier arrival). The
 * winner goes `processing` under a lease of `leaseMs` (a worker that dies loses it; another delivery takes
 * over after it ran out), the others of the group are `dropped` with their "better audio streams" answer.
 */
export async function decideUtterance(
  db: Db,
  id: string,
  options: { leaseMs: number; droppedMessage: string; windowMs?: number },
): Promise<Decision> {
  const windowMs = options.windowMs ?? ARBITRATION_WINDOW_MS;
  const first = await findUtteranceById(db, id);
  if (!first) return { kind: 'gone' };
  return inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'arbitration', first.network_id);
    const timing = await sql<{ settle_ms: number; lease_ms: number | null }>`
      SELECT extract(epoch FROM settle_until - now()) * 1000 AS settle_ms,
             extract(epoch FROM lease_until - now()) * 1000 AS lease_ms
      FROM utterances WHERE id = ${id}`.execute(trx);
    const u = await findUtteranceById(trx, id);
    if (!u) return { kind: 'gone' as const };
    if (u.status === 'stored' || u.status === 'dropped' || u.status === 'failed')
      return { kind: 'final' as const, utterance: u };
    const leaseMs = Number(timing.rows[0].lease_ms ?? 0);
    const lease = sql<Date>`now() + make_interval(secs => ${options.leaseMs / 1000})`;
    const take = async () =>
      trx
        .updateTable('utterances')
        .set({
          status: 'processing',
          lease_until: lease,
          attempts: sql<number>`attempts + 1`,
          updated_at: sql`now()`,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    if (u.status === 'processing') {
      // Another delivery holds the lease (SQS delivered twice, or it is still working): not twice at once.
      if (leaseMs > 0) return { kind: 'wait' as const, retryAfterMs: Math.ceil(leaseMs) };
      return { kind: 'process' as const, utterance: await take() };
    }
    const settleMs = Number(timing.rows[0].settle_ms);
    if (settleMs > 0) return { kind: 'wait' as const, retryAfterMs: Math.ceil(settleMs) };

    const { from, to } = window(u.captured_at, windowMs);
    const rivals = await trx
      .selectFrom('utterances')
      .selectAll()
      .where('network_id', '=', u.network_id)
      .where('id', '<>', u.id)
      .where('client_id', '<>', u.client_id)
      .where('status', 'in', ['accepted', 'processing', 'stored'])
      .where('captured_at', '>=', from)
      .where('captured_at', '<=', to)
      .orderBy('created_at')
      .forUpdate()
      .execute();

    const drop = async (loser: Utterance, winner: Rival) => {
      await trx
        .updateTable('utterances')
        .set({
          status: 'dropped',
          winner_id: winner.id,
          answer_status: 200,
          answer_body: JSON.stringify(droppedAnswer(winner, loser.client_id, options.droppedMessage)),
          updated_at: sql`now()`,
        })
        .where('id', '=', loser.id)
        .execute();
    };

    const stored = rivals
      .filter((r) => r.status === 'stored' && r.interaction_id)
      .sort((a, b) => b.score - a.score)[0];
    if (stored) {
      if (u.score > stored.score + LATE_COPY_MARGIN)
        return { kind: 'replace' as const, utterance: await take(), stored };
      await drop(u, stored);
      return { kind: 'dropped' as const, winner: stored };
    }
    if (rivals.some((r) => r.status === 'processing'))
      return { kind: 'wait' as const, retryAfterMs: RIVAL_POLL_MS };

    const group = [u, ...rivals.filter((r) => r.status === 'accepted')];
    const best = group.reduce((top, r) => (r.score > top.score ? r : top));
    if (best.id !== u.id) {
      await drop(u, best);
      return { kind: 'dropped' as const, winner: best };
    }
    for (const loser of group) if (loser.id !== u.id) await drop(loser, u);
    return { kind: 'process' as const, utterance: await take() };
  });
}

/**
 * The copies that heard the utterance `winnerId` won (and, after a late better copy took over,
 * `formerWinnerId` and the copies it had beaten): the winner first, then the others by score.
 */
export async function heardBy(db: Executor, winnerId: string, formerWinnerId?: string): Promise<Rival[]> {
  const ids = formerWinnerId ? [winnerId, formerWinnerId] : [winnerId];
  const rows = await db
    .selectFrom('utterances')
    .select(['id', 'client_id', 'score'])
    .where((eb) => eb.or([eb('id', 'in', ids), eb('winner_id', 'in', ids)]))
    .execute();
  return rows.sort((a, b) => (a.id === winnerId ? -1 : b.id === winnerId ? 1 : b.score - a.score));
}

/**
 * A copy dropped because its winner was already stored (it came late): the stored interaction's
 * `heard_by` gains it, so the app can show that this room heard it too.
 */
export async function appendHeardBy(db: Executor, loserId: string, winnerId: string): Promise<void> {
  const winner = await findUtteranceById(db, winnerId);
  const loser = await findUtteranceById(db, loserId);
  if (!winner?.interaction_id || !loser) return;
  const entry = { client_id: loser.client_id, score: loser.score, utterance_id: loser.id };
  await sql`UPDATE interactions SET metadata = jsonb_set(metadata, '{heard_by}',
      coalesce(metadata->'heard_by', '[]'::jsonb) || ${JSON.stringify([entry])}::jsonb)
    WHERE id = ${winner.interaction_id}
      AND NOT coalesce(metadata->'heard_by', '[]'::jsonb) @> ${JSON.stringify([{ utterance_id: loser.id }])}::jsonb`.execute(
    db,
  );
}

export async function linkUtteranceInteraction(
  trx: Executor,
  id: string,
  interactionId: string,
): Promise<void> {
  await trx.updateTable('utterances').set({ interaction_id: interactionId }).where('id', '=', id).execute();
}

/** A late better copy takes over a stored interaction's audio-derived fields (its text stays). */
export async function replaceInteractionCopy(
  trx: Executor,
  change: {
    interactionId: string;
    clientId: string;
    score: number;
    voiceEmbedding: number[] | null;
    /** The speaker, when the better copy told who it was and the worse one could not. */
    personId?: string;
    metadata: JsonObject;
  },
): Promise<void> {
  await trx
    .updateTable('interactions')
    .set({
      ...(change.personId ? { person_id: change.personId } : {}),
      client_id: change.clientId,
      audio_score: change.score,
      ...(change.voiceEmbedding ? { voice_embedding: change.voiceEmbedding } : {}),
      metadata: JSON.stringify(change.metadata),
    })
    .where('id', '=', change.interactionId)
    .execute();
}

/**
 * Inside the storing transaction, first: `processing` -> `stored`. False when another delivery stored it
 * meanwhile (the caller then rolls back: one interaction per utterance).
 */
export async function markStored(trx: Executor, id: string): Promise<boolean> {
  // The lease stays until the answer is recorded: a command's reply comes after the commit.
  const updated = await trx
    .updateTable('utterances')
    .set({ status: 'stored', updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'processing')
    .returning('id')
    .executeTakeFirst();
  return updated !== undefined;
}

/** The outcome a synchronous caller waits for (and an Idempotency-Key replays). */
export async function recordAnswer(
  db: Executor,
  id: string,
  statusCode: number,
  body: unknown,
): Promise<void> {
  await db
    .updateTable('utterances')
    .set({ answer_status: statusCode, answer_body: JSON.stringify(body), updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

/** The model's answer for a winner, kept before storing: a retried delivery reuses it. */
export async function saveEnrichment(db: Executor, id: string, enrichment: JsonObject): Promise<void> {
  await db
    .updateTable('utterances')
    .set({ enrichment: JSON.stringify(enrichment), updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

/** A failed attempt: the lease goes at once, so the next delivery need not wait for it to run out. */
export async function releaseLease(db: Executor, id: string): Promise<void> {
  await db
    .updateTable('utterances')
    .set({ lease_until: null, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'processing')
    .execute();
}

/** Given up (the last attempt failed, or the audio is unusable): nothing was stored. */
export async function markFailed(
  db: Executor,
  id: string,
  failure: { status: number; code: string; detail: string; body: unknown },
): Promise<void> {
  await db
    .updateTable('utterances')
    .set({
      status: 'failed',
      lease_until: null,
      error_code: failure.code,
      error_detail: failure.detail,
      answer_status: failure.status,
      answer_body: JSON.stringify(failure.body),
      idempotency_key: null,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .where('status', 'in', ['accepted', 'processing'])
    .execute();
}

/**
 * The winner `failedId` failed for good on its own audio: the best copy it had beaten (whose audio is still
 * stored) goes back to `accepted`, its window closed, and the other beaten copies now count as beaten by
 * it. The caller queues it; its decision then finds no rival and processes it. Undefined when no copy is
 * left. Under the network's arbitration lock, like every decision.
 */
export async function reviveRunnerUp(
  db: Db,
  failedId: string,
  droppedMessage: string,
): Promise<Utterance | undefined> {
  const failed = await findUtteranceById(db, failedId);
  if (!failed) return undefined;
  return inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'arbitration', failed.network_id);
    const beaten = await trx
      .selectFrom('utterances')
      .selectAll()
      .where('winner_id', '=', failedId)
      .where('status', '=', 'dropped')
      .where('audio_key', 'is not', null)
      .orderBy('score', 'desc')
      .orderBy('created_at')
      .forUpdate()
      .execute();
    const [next, ...others] = beaten;
    if (!next) return undefined;
    const revived = await trx
      .updateTable('utterances')
      .set({
        status: 'accepted',
        winner_id: null,
        answer_status: null,
        answer_body: null,
        settle_until: sql<Date>`now()`,
        updated_at: sql`now()`,
      })
      .where('id', '=', next.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    for (const loser of others)
      await trx
        .updateTable('utterances')
        .set({
          winner_id: next.id,
          answer_body: JSON.stringify(droppedAnswer(next, loser.client_id, droppedMessage)),
          updated_at: sql`now()`,
        })
        .where('id', '=', loser.id)
        .execute();
    return revived;
  });
}

/** The copies a winner beat (their audio was kept in case it failed). */
export async function listBeaten(db: Executor, winnerId: string): Promise<Utterance[]> {
  return db.selectFrom('utterances').selectAll().where('winner_id', '=', winnerId).execute();
}

/** The copies of one batch, in capture order. */
export async function listBatch(db: Executor, batchId: string): Promise<Utterance[]> {
  return db
    .selectFrom('utterances')
    .selectAll()
    .where('batch_id', '=', batchId)
    .orderBy('captured_at')
    .orderBy('created_at')
    .execute();
}
