import { sql } from 'kysely';
import type { Executor } from '../transaction';

/**
 * The local job queue's SQL (shared/queue/local.ts): a PostgreSQL table used the way SQS is. A job is taken
 * with `FOR UPDATE SKIP LOCKED` (concurrent workers never take the same job and never wait for each other),
 * made invisible for the visibility timeout under a fresh lock token, and settled with that token, so a
 * worker that was presumed dead (its job already redelivered) can no longer settle it.
 */
export interface ClaimedJob {
  id: string;
  body: unknown;
  /** This delivery's number, from 1. */
  attempts: number;
  maxAttempts: number;
  lockToken: string;
}

export async function insertJob(
  db: Executor,
  job: { queue: string; body: unknown; delayMs: number; maxAttempts: number },
): Promise<string> {
  const row = await db
    .insertInto('queue_jobs')
    .values({
      queue: job.queue,
      body: JSON.stringify(job.body),
      max_attempts: job.maxAttempts,
      visible_at: sql<Date>`now() + make_interval(secs => ${job.delayMs / 1000})`,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Takes the oldest visible job of the queue, or undefined when none is visible now. */
export async function claimJob(
  db: Executor,
  queue: string,
  visibilityMs: number,
): Promise<ClaimedJob | undefined> {
  const { rows } = await sql<{
    id: string;
    body: unknown;
    attempts: number;
    max_attempts: number;
    lock_token: string;
  }>`UPDATE queue_jobs SET attempts = attempts + 1, lock_token = gen_random_uuid(),
        visible_at = now() + make_interval(secs => ${visibilityMs / 1000})
      WHERE id = (SELECT id FROM queue_jobs WHERE queue = ${queue} AND status = 'queued' AND visible_at <= now()
                  ORDER BY visible_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id, body, attempts, max_attempts, lock_token`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const body = typeof row.body === 'string' ? (JSON.parse(row.body) as unknown) : row.body;
  return {
    id: row.id,
    body,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lockToken: row.lock_token,
  };
}

/** Done: the job is removed (a no-op when the delivery's token is no longer the job's). */
export async function deleteJob(db: Executor, job: ClaimedJob): Promise<void> {
  await db
    .deleteFrom('queue_jobs')
    .where('id', '=', job.id)
    .where('lock_token', '=', job.lockToken)
    .execute();
}

/** Not yet (a rival still being processed): visible again after `delayMs`, without counting an attempt. */
export async function deferJob(db: Executor, job: ClaimedJob, delayMs: number): Promise<void> {
  await db
    .updateTable('queue_jobs')
    .set({
      attempts: sql<number>`greatest(attempts - 1, 0)`,
      lock_token: null,
      visible_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})`,
    })
    .where('id', '=', job.id)
    .where('lock_token', '=', job.lockToken)
    .execute();
}

/** Failed: visible again after the backoff, or `dead` after the last attempt. */
export async function failJob(
  db: Executor,
  job: ClaimedJob,
  error: string,
  backoffMs: number,
): Promise<void> {
  await db
    .updateTable('queue_jobs')
    .set({
      last_error: error.slice(0, 2000),
      lock_token: null,
      status: job.attempts >= job.maxAttempts ? 'dead' : 'queued',
      visible_at: sql<Date>`now() + make_interval(secs => ${backoffMs / 1000})`,
    })
    .where('id', '=', job.id)
    .where('lock_token', '=', job.lockToken)
    .execute();
}

/** Milliseconds until the next queued job becomes visible (0 when one is visible), undefined when none is queued. */
export async function nextJobInMs(db: Executor, queue: string): Promise<number | undefined> {
  // No greatest() in SQL: it ignores NULL, and NULL (no job queued) must stay "none".
  const { rows } = await sql<{ ms: number | string | null }>`
    SELECT extract(epoch FROM min(visible_at) - now()) * 1000 AS ms
    FROM queue_jobs WHERE queue = ${queue} AND status = 'queued'`.execute(db);
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, Number(ms));
}

/** Jobs that used up their attempts (the local dead-letter queue), oldest first. */
export async function listDeadJobs(db: Executor, queue: string) {
  return db
    .selectFrom('queue_jobs')
    .select(['id', 'body', 'attempts', 'last_error', 'created_at'])
    .where('queue', '=', queue)
    .where('status', '=', 'dead')
    .orderBy('created_at')
    .execute();
}
