/**
 * A fresh database for a bench: a database of its own on the PostgreSQL server at DATABASE_URL (dropped at
 * the end), or an in-memory PGlite without it. Migrated to the latest schema.
 */
import pg from 'pg';
import { createDb, type Db } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';

export interface BenchDb {
  db: Db;
  driver: 'PostgreSQL' | 'PGlite';
  /** The bench database's own URL (PostgreSQL only), for servers started beside it. */
  url?: string;
  close(): Promise<void>;
}

export async function openBenchDb(options: { poolSize?: number } = {}): Promise<BenchDb> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const db = await createDb({ dataDir: 'memory' });
    await migrateToLatest(db);
    return { db, driver: 'PGlite', close: () => db.destroy() };
  }
  const name = `mira_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = await createDb({ connectionString: url.toString(), poolSize: options.poolSize });
  await migrateToLatest(db);
  return {
    db,
    driver: 'PostgreSQL',
    url: url.toString(),
    close: async () => {
      await db.destroy();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
