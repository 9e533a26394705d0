import type { Executor } from '../transaction';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { type ErrorBody, httpError, HttpError, isErrorCode } from '../../errors';

/**
 * `Idempotency-Key` on `idempotency_records`: a retried upload returns the first outcome and never stores
 * twice. The row is inserted when the work begins (the primary key makes one request the owner, even when
 * duplicates arrive at the same instant) and completed with the answer.
 *
 * A duplicate arriving while the first is still processing gets 409 IDEMPOTENCY_IN_PROGRESS at once rather
 * than waiting: the first may take many seconds (a model call), a Lambda that waits burns its time and a
 * database connection, and the client already has a retry loop. A record left in progress by a crashed
 * request is taken over after `staleAfterMs`. Same key, different request: 422 IDEMPOTENCY_KEY_REUSED.
 *
 * What is remembered: 2xx answers and deterministic 4xx errors (they would be the same on a retry). A 5xx
 * or an unexpected error abandons the record, so the retry runs the work again.
 */

/** `status_code` of a record whose request is still being processed (HTTP 102 Processing). */
const IN_PROGRESS = 102;
export const DEFAULT_STALE_AFTER_MS = 60_000;

export interface IdempotencyScope {
  networkId: string;
  key: string;
}

export type BeginOutcome =
  | { state: 'started' }
  | { state: 'replay'; statusCode: number; body: unknown }
  | { state: 'in_progress' }
  | { state: 'mismatch' };

/** Keys are opaque client strings; bounded so they fit an index and a log line. */
export const isValidIdempotencyKey = (key: string): boolean => /^[\x21-\x7e]{1,255}$/.test(key);

/**
 * A digest of what makes two requests "the same": the caller passes the parts that matter (method, route,
 * client id, the body bytes...). Order matters; parts are length-prefixed so boundaries cannot shift.
 */
export function requestFingerprint(...parts: (string | Uint8Array | undefined | null)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes =
      part == null ? Buffer.alloc(0) : typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

export async function beginIdempotent(
  db: Executor,
  scope: IdempotencyScope & { fingerprint: string; staleAfterMs?: number },
): Promise<BeginOutcome> {
  const inserted = await db
    .insertInto('idempotency_records')
    .values({
      network_id: scope.networkId,
      idempotency_key: scope.key,
      request_fingerprint: scope.fingerprint,
      status_code: IN_PROGRESS,
      response: null,
    })
    .onConflict((oc) => oc.columns(['network_id', 'idempotency_key']).doNothing())
    .returning('status_code')
    .executeTakeFirst();
  if (inserted) return { state: 'started' };

  const existing = await db
    .selectFrom('idempotency_records')
    .select(['request_fingerprint', 'status_code', 'response'])
    .where('network_id', '=', scope.networkId)
    .where('idempotency_key', '=', scope.key)
    .executeTakeFirst();
  // Abandoned between our insert and this read: the key is free again.
  if (!existing) return beginIdempotent(db, scope);
  if (existing.request_fingerprint !== scope.fingerprint) return { state: 'mismatch' };
  if (existing.status_code !== IN_PROGRESS)
    return { state: 'replay', statusCode: existing.status_code, body: existing.response };

  // Still in progress: take it over only when its owner has evidently died (one taker wins the update).
  const staleMs = scope.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const takenOver = await db
    .updateTable('idempotency_records')
    .set({ created_at: sql<Date>`now()` })
    .where('network_id', '=', scope.networkId)
    .where('idempotency_key', '=', scope.key)
    .where('status_code', '=', IN_PROGRESS)
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${staleMs / 1000})`)
    .returning('status_code')
    .executeTakeFirst();
  return takenOver ? { state: 'started' } : { state: 'in_progress' };
}

/**
 * Record the answer. Call it inside the transaction that writes the result, so the answer and the data
 * commit together: a crash cannot leave stored data with a key that would run again.
 */
export async function completeIdempotent(
  db: Executor,
  scope: IdempotencyScope & { statusCode: number; body: unknown },
): Promise<void> {
  await db
    .updateTable('idempotency_records')
    .set({ status_code: scope.statusCode, response: JSON.stringify(scope.body ?? null) })
    .where('network_id', '=', scope.networkId)
    .where('idempotency_key', '=', scope.key)
    .execute();
}

/** Forget an in-progress record (the work failed retryably); a completed one is kept. */
export async function abandonIdempotent(db: Executor, scope: IdempotencyScope): Promise<void> {
  await db
    .deleteFrom('idempotency_records')
    .where('network_id', '=', scope.networkId)
    .where('idempotency_key', '=', scope.key)
    .where('status_code', '=', IN_PROGRESS)
    .execute();
}

export interface IdempotentResult {
  statusCode: number;
  body: unknown;
  /** True when this is the answer of an earlier request with the same key. */
  replayed: boolean;
}

export const idempotencyInProgress = () =>
  httpError(
    'IDEMPOTENCY_IN_PROGRESS',
    'A request with this Idempotency-Key is still being processed; retry shortly',
  );
export const idempotencyKeyReused = () =>
  httpError(
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was already used for a different request; use a new key for a new request',
  );
export const invalidIdempotencyKey = () =>
  httpError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 printable ASCII characters');

/**
 * The whole protocol around a piece of work. `run` receives `complete`, which it should call inside its
 * storing transaction with the answer it is about to return (if it does not, the answer is recorded after
 * `run` returns). A replayed error is thrown again as the same HttpError; a remembered success is returned
 * with `replayed: true`.
 */
export async function withIdempotency(
  db: Executor,
  scope: IdempotencyScope & { fingerprint: string; staleAfterMs?: number },
  run: (complete: (trx: Executor, statusCode: number, body: unknown) => Promise<void>) => Promise<{
    statusCode: number;
    body: unknown;
  }>,
): Promise<IdempotentResult> {
  if (!isValidIdempotencyKey(scope.key)) throw invalidIdempotencyKey();
  const begun = await beginIdempotent(db, scope);
  if (begun.state === 'in_progress') throw idempotencyInProgress();
  if (begun.state === 'mismatch') throw idempotencyKeyReused();
  if (begun.state === 'replay') {
    if (begun.statusCode >= 400) throw replayedError(begun.statusCode, begun.body);
    return { statusCode: begun.statusCode, body: begun.body, replayed: true };
  }
  let completed = false;
  const complete = async (trx: Executor, statusCode: number, body: unknown) => {
    await completeIdempotent(trx, { ...scope, statusCode, body });
    completed = true;
  };
  try {
    const result = await run(complete);
    if (!completed) await completeIdempotent(db, { ...scope, ...result });
    return { ...result, replayed: false };
  } catch (error) {
    try {
      if (error instanceof HttpError && error.status >= 400 && error.status < 500)
        await completeIdempotent(db, { ...scope, statusCode: error.status, body: error.toBody() });
      else await abandonIdempotent(db, scope);
    } catch {
      // The database went away with the work (an outage): the record would block retries of this key with
      // 409 until it goes stale. Let it go as soon as the database is back; the caller gets the work's error.
      abandonWhenBack(db, scope);
    }
    throw error;
  }
}

/** Backoff of the clean-up after an outage: about 30 s of tries, then the stale takeover is the fallback. */
const ABANDON_RETRY_MS = [250, 500, 1000, 2000, 4000, 8000, 15000];

function abandonWhenBack(db: Executor, scope: IdempotencyScope, attempt = 0): void {
  if (attempt >= ABANDON_RETRY_MS.length) return;
  // Unref'd: a pending clean-up never keeps a process (or a Lambda invocation) alive.
  setTimeout(() => {
    abandonIdempotent(db, scope).catch(() => abandonWhenBack(db, scope, attempt + 1));
  }, ABANDON_RETRY_MS[attempt]).unref();
}

function replayedError(statusCode: number, body: unknown): HttpError {
  const { detail, error_code, timestamp: _timestamp, errors, ...extra } = (body ?? {}) as Partial<ErrorBody>;
  // The first answer, as it was given; a code no longer in the catalogue replays as a plain 4xx.
  const code = error_code && isErrorCode(error_code) ? error_code : 'BAD_REQUEST';
  return new HttpError(code, detail, {
    status: statusCode,
    errors,
    extra: Object.keys(extra).length ? extra : undefined,
  });
}
