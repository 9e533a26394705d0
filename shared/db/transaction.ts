import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './types';

/**
 * A database handle or a transaction (a Kysely `Transaction` is a `Kysely`): repositories take either
 * first, so callers compose them into one unit of work.
 */
export type Executor = Kysely<Database>;

/**
 * Runs `work` in a transaction: the caller's one when `db` already is a transaction (so repositories
 * compose inside a bigger unit of work), a new one otherwise.
 */
export function inTransaction<T>(db: Executor, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<Database>);
  return db.transaction().execute(work);
}

/**
 * Advisory-lock namespaces (the first key of the two-key form): one per kind of critical section, so two
 * kinds never wait for each other on the same network.
 */
export const LockNamespace = {
  personIndex: 1001,
  conversationAssignment: 1002,
  arbitration: 1003,
  loginAttempts: 1004,
  clientNames: 1005,
  conversationSummary: 1020,
} as const;

export type LockNamespaceName = keyof typeof LockNamespace;

/**
 * Serialises a critical section per key (a network id, an account...) across every Lambda instance: a
 * transaction-scoped advisory lock, released at commit or rollback. Cheaper and narrower than locking a
 * row that every foreign-key insert also touches.
 */
export async function advisoryLock(
  trx: Transaction<Database>,
  namespace: LockNamespaceName,
  key: string,
): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${LockNamespace[namespace]}::int, hashtext(${key}))`.execute(trx);
}
