import { sql, type Transaction } from 'kysely';
import type { Db } from './client';
import type { Database } from './types';

/** A database handle or a transaction: repositories accept either, so callers can compose them. */
export type Executor = Db | Transaction<Database>;

/**
 * Runs `work` in a transaction: the caller's one when `db` already is a transaction (so repositories
 * compose inside a bigger unit of work), a new one otherwise.
 */
export function inTransaction<T>(db: Executor, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<Database>);
  return db.transaction().execute(work);
}

/** Advisory-lock namespaces (the first key of the two-key form), one per kind of per-network critical section. */
export const LockNamespace = {
  personIndex: 1001,
  conversationAssignment: 1002,
} as const;

/**
 * Serialises a critical section per network across every Lambda instance: a transaction-scoped advisory
 * lock, released at commit or rollback. Cheaper and narrower than locking the network row, which every
 * foreign-key insert also touches.
 */
export async function lockNetwork(
  trx: Transaction<Database>,
  namespace: (typeof LockNamespace)[keyof typeof LockNamespace],
  networkId: string,
): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${namespace}::int, hashtext(${networkId}))`.execute(trx);
}
