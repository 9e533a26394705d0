import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createDb } from '../../shared/db/client';
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
});
