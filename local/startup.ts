import { Kysely, PostgresDialect } from 'kysely';
import { isConnectionError, pingDatabase, type Db } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';
import type { Database } from '../shared/db/types';

/**
 * The local server's start-up: it listens first and opens the database afterwards, so it can answer
 * `/health` (and `/health/detailed` 503) while the database is down, and migrates as soon as it is up.
 */

/** The connection error the pipeline hears while the database is not ready: 503 DATABASE_UNAVAILABLE. */
export class DatabaseNotReady extends Error {
  /** SQLSTATE 57P03 cannot_connect_now: `isConnectionError` knows it, so the answer is 503 with Retry-After. */
  readonly code = '57P03';
  constructor(cause: string) {
    super(`the database is not ready yet: ${cause}`);
    this.name = 'DatabaseNotReady';
  }
}

/**
 * The process-wide database while the real one is not ready: every connection attempt fails as the real
 * one does (refused, not yet migrated), so routes that need it answer 503 and the others answer as usual.
 */
export function unavailableDb(cause: () => string): Db {
  return new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: {
        connect: () => Promise.reject(new DatabaseNotReady(cause())),
        end: () => Promise.resolve(),
        options: {},
      },
    }),
  });
}

/** One line for an error: node-postgres' AggregateError of a dual-stack connect, a migration's cause. */
export function describeCause(error: unknown): string {
  const current = error as
    { message?: string; code?: string; errors?: unknown[]; cause?: unknown } | undefined;
  // A MigrationError says which migration; what the database said is in its cause.
  if (current?.cause && (current as Error).name === 'MigrationError')
    return `${current.message}: ${describeCause(current.cause)}`;
  if (Array.isArray(current?.errors) && current.errors.length && !current.message)
    return describeCause(current.errors[0]);
  const message = String(current?.message || current?.code || error)
    .split('\n')[0]
    .trim();
  return current?.code && !message.includes(current.code) ? `${message} (${current.code})` : message;
}

export interface WaitOptions {
  /** The real database, opened once (node-postgres connects lazily; PGlite opens its folder). */
  open: () => Promise<Db>;
  /** Where it is, for the log lines: `PostgreSQL at host:port`, `embedded PGlite in .mira/pgdata`. */
  where: string;
  log: (line: string) => void;
  /** Stops the retries (shutdown while waiting). */
  signal?: AbortSignal;
  /** Called with each cause while waiting, so requests meanwhile are told what the server waits for. */
  onWaiting?: (cause: string) => void;
  /** First delay between attempts and its cap (it doubles), in ms. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Thrown when the database answers but cannot be used (wrong password, no such database, a bad migration). */
export class DatabaseUnusable extends Error {
  constructor(where: string, cause: string) {
    super(`Cannot use the database, ${where}: ${cause}`);
    this.name = 'DatabaseUnusable';
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Opens, pings and migrates the database, retrying with backoff while it is unreachable. Logs one line when
 * it starts waiting (and again only when the cause changes), one when it is ready. Resolves with the
 * migrated database and the migrations applied; undefined when aborted. A database that answers but
 * refuses (authentication, a missing database, a failed migration) throws DatabaseUnusable.
 */
export async function waitForDatabase(
  options: WaitOptions,
): Promise<{ db: Db; applied: string[]; waitedMs: number } | undefined> {
  const { log, signal, where } = options;
  const minDelay = options.minDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 1_000;
  const started = performance.now();
  let delay = minDelay;
  let lastCause: string | undefined;
  let db: Db | undefined;
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      db ??= await options.open();
      await pingDatabase(db);
      const applied = await migrateToLatest(db);
      return { db, applied, waitedMs: Math.round(performance.now() - started) };
    } catch (error) {
      const cause = describeCause(error);
      const inner = (error as { cause?: unknown }).cause;
      if (!isConnectionError(error) && !isConnectionError(inner)) throw new DatabaseUnusable(where, cause);
      options.onWaiting?.(cause);
      if (cause !== lastCause) {
        log(
          `Waiting for the database, ${where}: ${cause} ` +
            '(retrying; /health answers meanwhile, routes that need the database answer 503)',
        );
        lastCause = cause;
      }
      await sleep(delay, signal);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
  return undefined;
}
