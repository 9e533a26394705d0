import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, setDb, type Db } from '../../shared/db/client';
import { migrateToLatest } from '../../shared/db/migrate';

export interface TestDatabase {
  db: Db;
  /** The database's own URL when running on a PostgreSQL server. */
  url: string | undefined;
  drop: () => Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, migrated (unless `migrate: false`) database of its own: a new database on the server of DATABASE_URL when it is set
 * (dropped afterwards), an in-memory PGlite otherwise. Nothing left by an earlier run can change a result.
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  const migrate = options.migrate ?? true;
  if (!serverUrl) {
    const db = await createDb({ dataDir: 'memory' });
    if (migrate) await migrateToLatest(db);
    return { db, url: undefined, drop: () => db.destroy() };
  }
  const name = `mira_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(serverUrl, name);
  const db = await createDb({ connectionString: url });
  if (migrate) await migrateToLatest(db);
  return {
    db,
    url,
    drop: async () => {
      await db.destroy();
      await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

const TABLES = [
  'stream_quality',
  'actions',
  'idempotency_records',
  'interactions',
  'conversation_participants',
  'conversations',
  'persons',
  'login_attempts',
  'refresh_tokens',
  'network_api_keys',
  'network_members',
  'users',
  'network_clients',
  'networks',
];

/** Empty every table, keeping the schema. */
export async function clearTables(db: Db): Promise<void> {
  const existing = await sql<{
    tablename: string;
  }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`.execute(db);
  const names = existing.rows.map((r) => r.tablename).filter((t) => !t.startsWith('kysely_'));
  const ordered = [...TABLES.filter((t) => names.includes(t)), ...names.filter((t) => !TABLES.includes(t))];
  await sql`TRUNCATE ${sql.join(ordered.map((t) => sql.table(t)))} CASCADE`.execute(db);
}

/**
 * Vitest wiring: one migrated database per test file, installed as the process-wide database the handlers
 * use, with tables cleared before each test.
 */
export function useTestDatabase(options: { clearBetweenTests?: boolean } = {}): {
  readonly db: Db;
  readonly url: string | undefined;
} {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await createTestDatabase();
    setDb(current.db);
  });
  if (options.clearBetweenTests ?? true) {
    beforeEach(async () => {
      await clearTables(current!.db);
    });
  }
  afterAll(async () => {
    setDb(undefined);
    await current?.drop();
  });
  return {
    get db() {
      return current!.db;
    },
    get url() {
      return current?.url;
    },
  };
}
