import { describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Db } from '../../shared/db/client';
import { assignConversation } from '../../shared/db/repositories/conversations';
import { createPerson } from '../../shared/db/repositories/persons';
import { upsertStreamQuality } from '../../shared/db/repositories/streams';
import { createNetwork, upsertClient } from '../../shared/db/repositories/networks';
import type { Database } from '../../shared/db/types';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

/**
 * The handlers' own pool holds one connection, which would serialise everything; these tests open a pool
 * of several on PostgreSQL so that the transactions really overlap. PGlite has one connection anyway.
 */
async function withParallelDb<T>(work: (db: Db) => Promise<T>): Promise<T> {
  if (!database.url) return work(database.db);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 10 }) }),
  });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

describe('concurrency of per-network sequences', () => {
  it('gives 20 persons created at once the indexes 1..20', async () => {
    const network = await createNetwork(database.db, 'Home');
    const persons = await withParallelDb((db) =>
      Promise.all(Array.from({ length: 20 }, (_, i) => createPerson(db, network.id, `P${i}`))),
    );
    expect(persons.map((p) => p.index).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('puts 10 simultaneous utterances into one conversation', async () => {
    const network = await createNetwork(database.db, 'Home');
    const timestamp = new Date();
    const assigned = await withParallelDb((db) =>
      Promise.all(
        Array.from({ length: 10 }, () =>
          assignConversation(db, { networkId: network.id, personId: null, timestamp }),
        ),
      ),
    );
    expect(new Set(assigned.map((a) => a.conversationId)).size).toBe(1);
    expect(assigned.filter((a) => a.created)).toHaveLength(1);
  });

  it('counts every one of 12 simultaneous stream-quality samples', async () => {
    const network = await createNetwork(database.db, 'Home');
    await upsertClient(database.db, network.id, 'kitchen');
    const sample = { snr: 20, speechClarity: 0.5, volumeLevel: 0.1, noiseLevel: 0.01, speechRatio: 0.5 };
    await withParallelDb((db) =>
      Promise.all(
        Array.from({ length: 12 }, () =>
          upsertStreamQuality(db, { networkId: network.id, clientId: 'kitchen', sample }),
        ),
      ),
    );
    const row = await database.db.selectFrom('stream_quality').selectAll().executeTakeFirstOrThrow();
    expect(row.sample_count).toBe(12);
  });
});
