import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../shared/config';
import { createDb, processPoolSize, type Db } from '../../shared/db/client';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

describe('connections per process', () => {
  it('is one in a Lambda instance and DATABASE_POOL_SIZE (default 10) in a long-running server', () => {
    expect(processPoolSize(readConfig({}))).toBe(10);
    expect(processPoolSize(readConfig({ DATABASE_POOL_SIZE: '4' }))).toBe(4);
    expect(
      processPoolSize(readConfig({ AWS_LAMBDA_FUNCTION_NAME: 'mira-persons', DATABASE_POOL_SIZE: '4' })),
    ).toBe(1);
    expect(() => readConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
  });
});

/**
 * The local server on PostgreSQL serves requests concurrently: a request never waits for another one's
 * connection (with a pool of one, a cheap read queued behind a long page or transaction).
 */
describe.skipIf(!process.env.DATABASE_URL)('the local server pool (PostgreSQL)', () => {
  let database: TestDatabase;
  let pooled: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    pooled = await createDb({ connectionString: database.url, poolSize: 3 });
  });
  afterAll(async () => {
    await pooled?.destroy();
    await database?.drop();
  });

  it('answers other queries while one transaction holds its connection', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const long = pooled.transaction().execute(async (trx) => {
      await sql`SELECT 1`.execute(trx);
      inside();
      await held;
    });
    await started;
    // Both finish while the transaction still holds its connection: they had connections of their own.
    const answers = await Promise.all([
      sql`SELECT 2 AS n`.execute(pooled),
      sql`SELECT 3 AS n`.execute(pooled),
    ]);
    expect(answers.map((a) => (a.rows[0] as { n: number }).n)).toEqual([2, 3]);
    const backends = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = ''`.execute(database.db);
    expect(backends.rows[0].n).toBeGreaterThanOrEqual(3);
    release();
    await long;
  });
});
