import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createDb, isConnectionError } from '../../shared/db/client';
import { Migrator } from 'kysely/migration';
import { staticMigrationProvider } from '../../migrations';
import { migrateToLatest } from '../../shared/db/migrate';
import { createTestDatabase, useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';

const database = useTestDatabase();
const api = createTestApi();
const onServer = process.env.DATABASE_URL ? it : it.skip;

describe('data layer', () => {
  it('migrates an empty database to the whole model, and again is a no-op', async () => {
    const fresh = await createTestDatabase();
    try {
      const tables = await sql<{
        tablename: string;
      }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`.execute(fresh.db);
      expect(tables.rows.map((r) => r.tablename)).toEqual(
        expect.arrayContaining([
          'networks',
          'network_clients',
          'users',
          'network_members',
          'network_api_keys',
          'persons',
          'conversations',
          'conversation_participants',
          'interactions',
          'actions',
          'stream_quality',
        ]),
      );
      expect(await migrateToLatest(fresh.db)).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });

  it('has no utterance_claims table since register v2, and migrating down brings it back empty', async () => {
    const fresh = await createTestDatabase();
    const tableNames = async () =>
      (
        await sql<{ tablename: string }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`.execute(
          fresh.db,
        )
      ).rows.map((r) => r.tablename);
    try {
      expect(await tableNames()).not.toContain('utterance_claims');
      const migrator = new Migrator({ db: fresh.db, provider: staticMigrationProvider });
      const { error } = await migrator.migrateTo('2026_12_01_0040_history_indexes');
      expect(error).toBeUndefined();
      expect(await tableNames()).toContain('utterance_claims');
      expect(await migrateToLatest(fresh.db)).toContain('2026_12_02_0011_drop_utterance_claims');
      expect(await tableNames()).not.toContain('utterance_claims');
    } finally {
      await fresh.drop();
    }
  });

  it('keeps person indexes unique per network and idempotency keys unique per network', async () => {
    const { db } = database;
    const network = await db
      .insertInto('networks')
      .values({ name: 'n', settings: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('persons').values({ network_id: network.id, name: 'A', index: 1 }).execute();
    await expect(
      db.insertInto('persons').values({ network_id: network.id, name: 'B', index: 1 }).execute(),
    ).rejects.toMatchObject({ code: '23505' });
    const row = {
      network_id: network.id,
      interaction_type: 'text' as const,
      entities: '[]',
      topics: '[]',
      metadata: '{}',
      idempotency_key: 'k1',
    };
    await db.insertInto('interactions').values(row).execute();
    await expect(db.insertInto('interactions').values(row).execute()).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('stores voice embeddings as real[] and reads them back as numbers', async () => {
    const { db } = database;
    const network = await db
      .insertInto('networks')
      .values({ name: 'n', settings: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const person = await db
      .insertInto('persons')
      .values({ network_id: network.id, name: 'A', index: 1, voice_embedding: [0.25, -0.5, 1] })
      .returning('voice_embedding')
      .executeTakeFirstOrThrow();
    expect(person.voice_embedding).toEqual([0.25, -0.5, 1]);
  });

  it('deletes a network with everything in it', async () => {
    const { db } = database;
    const network = await db
      .insertInto('networks')
      .values({ name: 'n', settings: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('network_clients')
      .values({ network_id: network.id, client_id: 'c', metadata: '{}' })
      .execute();
    await db.insertInto('persons').values({ network_id: network.id, name: 'A', index: 1 }).execute();
    await db.deleteFrom('networks').where('id', '=', network.id).execute();
    expect(await db.selectFrom('persons').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('network_clients').selectAll().execute()).toEqual([]);
  });

  onServer('recovers when the server terminates the connection between two requests', async () => {
    const first = await api.post('/api/v1/networks', { name: 'Before' });
    expect(first.status).toBe(201);
    const admin = await createDb({ connectionString: process.env.DATABASE_URL });
    try {
      const killed = await sql<{ n: number }>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = ${new URL(database.url!).pathname.slice(1)} AND pid <> pg_backend_pid()`.execute(
        admin,
      );
      expect(killed.rows[0].n).toBeGreaterThanOrEqual(1);
    } finally {
      await admin.destroy();
    }
    const second = await api.post('/api/v1/networks', { name: 'After' });
    expect(second.status).toBe(201);
    expect((await api.get(`/api/v1/${second.body.id}/service/info`)).status).toBe(200);
  });

  onServer(
    'survives a connection terminated in the middle of a query, and the next query works',
    async () => {
      const db = await createDb({ connectionString: database.url });
      const admin = await createDb({ connectionString: process.env.DATABASE_URL });
      try {
        const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0].pid;
        // Its rejection is taken at once: it may come before the test gets back to it.
        const slow = sql`SELECT pg_sleep(30)`.execute(db).catch((error: unknown) => error);
        // Until the sleep is on the server, then the server ends that backend.
        for (let i = 0; i < 200; i++) {
          const active = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid} AND query LIKE '%pg_sleep%'`.execute(
            admin,
          );
          if (active.rows[0].n > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await sql`SELECT pg_terminate_backend(${pid})`.execute(admin);

        const failure = await slow;
        expect(isConnectionError(failure)).toBe(true);
        expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(db)).rows[0].one).toBe(1);
      } finally {
        await admin.destroy();
        await db.destroy();
      }
    },
  );

  it('tells a lost or refused connection from an error of the query itself', async () => {
    const refused = await createDb({ connectionString: 'postgres://postgres@127.0.0.1:9/none' });
    try {
      const failure = await sql`SELECT 1`.execute(refused).catch((error: unknown) => error);
      expect(isConnectionError(failure)).toBe(true);
    } finally {
      await refused.destroy();
    }
    const syntax = await sql`SELEC 1`.execute(database.db).catch((error: unknown) => error);
    expect(isConnectionError(syntax)).toBe(false);
  });
});
