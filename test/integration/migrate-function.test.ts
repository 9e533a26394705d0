import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { handler, UnknownActionError } from '../../functions/migrate/handler';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createDb, setDb } from '../../shared/db/client';

const databases: TestDatabase[] = [];
afterAll(async () => {
  setDb(undefined);
  for (const db of databases) await db.drop().catch(() => undefined);
});

describe('migrate function', () => {
  it('brings a new database to the latest schema, as the deploy-time trigger does', async () => {
    // Prepare: an empty database (PGlite, or a fresh one on the server of DATABASE_URL).
    const fresh = await createTestDatabase();
    databases.push(fresh);
    await sql`DROP SCHEMA public CASCADE`.execute(fresh.db);
    await sql`CREATE SCHEMA public`.execute(fresh.db);
    const target = fresh.url ? await createDb({ connectionString: fresh.url }) : fresh.db;
    setDb(target);

    // Act: the trigger invokes the function without a payload.
    const result = await handler({});

    // Assess
    expect(result.action).toBe('run_migrations');
    expect(result.applied).toContain('2026_11_28_0001_initial');
  });

  it('accepts {"action": "run_migrations"} and applies nothing twice', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    setDb(db.url ? await createDb({ connectionString: db.url }) : db.db);

    const result = await handler({ action: 'run_migrations' });

    expect(result).toEqual({ action: 'run_migrations', applied: [] });
  });

  it('refuses any other action without touching the database', async () => {
    await expect(handler({ action: 'drop_everything' })).rejects.toThrow(UnknownActionError);
  });
});
