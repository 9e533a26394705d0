import { mkdirSync, readFileSync } from 'node:fs';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { config, databasePasswordProvider, type AppConfig } from '../config';
import { logger } from '../observability';
import type { Database } from './types';
import { traced } from '../observability/tracer';

export type Db = Kysely<Database>;

/** What node-postgres and the server say when the connection is gone or cannot be made. */
const CONNECTION_LOST =
  /Connection terminated|ECONNRESET|EPIPE|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|Client has encountered a connection error|terminating connection|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery mode)|Client was closed and is not queryable|Cannot use a pool after calling end/i;

/** SQLSTATEs of a lost or refused connection (class 08, admin shutdown 57P01-57P03, too many connections). */
const CONNECTION_STATES = ['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300'];

/**
 * True when the database itself is unreachable (as opposed to a query's own error): the request gets 503
 * DATABASE_UNAVAILABLE with Retry-After, and the next request opens a new connection.
 */
export const isConnectionError = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errors, message = '' } = error as { code?: string; errors?: unknown[]; message?: string };
  // node-postgres reports a refused dual-stack connect as an AggregateError of the per-address failures.
  if (Array.isArray(errors) && errors.some(isConnectionError)) return true;
  return (
    CONNECTION_LOST.test(String(message)) ||
    CONNECTION_STATES.includes(code ?? '') ||
    CONNECTION_LOST.test(code ?? '')
  );
};

function sslOptions(cfg: AppConfig): pg.PoolConfig['ssl'] {
  if (cfg.databaseSsl === 'disable') return undefined;
  if (cfg.databaseSsl === 'no-verify') return { rejectUnauthorized: false };
  return cfg.databaseCaFile ? { ca: readFileSync(cfg.databaseCaFile, 'utf8') } : { rejectUnauthorized: true };
}

/**
 * A node-postgres pool of `size` connections: one in Lambda (an instance serves one request at a time and
 * RDS Proxy multiplexes behind it), `databasePoolSize` for the local server, which serves requests
 * concurrently (with one connection a cheap GET queued behind a deep page: 1.6 -> 49.6 ms). A Lambda
 * instance can be frozen for minutes, and the proxy or server may drop a socket meanwhile without the
 * process noticing; so a connection idle for longer than `databaseStaleAfterMs` is pinged on checkout and
 * replaced when dead.
 */
function postgresPool(connectionString: string, cfg: AppConfig, size: number): PostgresPool {
  const url = new URL(connectionString);
  // node-postgres would read sslmode itself and override our `ssl` object; TLS is decided by sslOptions.
  url.searchParams.delete('sslmode');
  // With a password provider (AWS, rotated credentials) the URL's fields are passed one by one: a
  // connection string would override the provider with the password it carries.
  const password = databasePasswordProvider();
  const target: pg.PoolConfig = password
    ? {
        host: url.hostname,
        port: Number(url.port || 5432),
        user: decodeURIComponent(url.username),
        database: decodeURIComponent(url.pathname.slice(1)),
        password,
      }
    : { connectionString: url.toString() };
  const pool = new pg.Pool({
    ...target,
    max: size,
    idleTimeoutMillis: 60_000,
    // Bounded so a request during an outage answers 503 in time, well inside API Gateway's 30 s.
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    ssl: sslOptions(cfg),
  });
  // An idle client whose socket dies emits 'error' on the pool; the pool already discards it.
  pool.on('error', () => undefined);
  const lastUsed = new WeakMap<pg.PoolClient, number>();
  const listened = new WeakSet<pg.PoolClient>();

  const checkout = async (attempt: number): Promise<PostgresPoolClient> => {
    const client = await traced('db.connect', () => pool.connect());
    // A checked-out client whose socket dies (pg_terminate_backend, a restart, a failover) emits 'error'
    // on the client, which pg's pool does not listen to while the client is lent out: unheard, it would end
    // the process. The query in flight rejects by itself; the dead client leaves the pool on release.
    if (!listened.has(client)) {
      listened.add(client);
      client.on('error', (error) => logger.warn('database connection lost', { error: error.message }));
    }
    const idleFor = Date.now() - (lastUsed.get(client) ?? Date.now());
    if (lastUsed.has(client) && idleFor >= cfg.databaseStaleAfterMs) {
      try {
        await client.query('SELECT 1');
      } catch (error) {
        client.release(error as Error); // destroys the dead client
        if (attempt > 0 || !isConnectionError(error)) throw error;
        return checkout(attempt + 1);
      }
    }
    return {
      // A query (not a streaming cursor) is a db.query subsegment in X-Ray (shared/observability/tracer.ts).
      query: ((text: unknown, parameters?: unknown[]): unknown =>
        typeof text === 'string'
          ? traced('db.query', () => client.query(text, parameters))
          : client.query(text as pg.Submittable)) as unknown as PostgresPoolClient['query'],
      release: () => {
        lastUsed.set(client, Date.now());
        client.release();
      },
    };
  };

  return { connect: () => checkout(0), end: () => pool.end(), options: pool.options };
}

async function pgliteDialect(dataDir: string | undefined) {
  const [{ PGlite }, { PGliteDialect }, { vector }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
    // pgvector, built into PGlite's package: the embedded database searches embeddings as RDS does.
    import('@electric-sql/pglite/vector'),
  ]);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite({ ...(dataDir ? { dataDir } : {}), extensions: { vector } });
  await pglite.waitReady;
  return new PGliteDialect(pglite);
}

export interface CreateDbOptions {
  /** A PostgreSQL URL; when absent the embedded PGlite is used. */
  connectionString?: string;
  /** PGlite data folder; the string `memory` keeps it in memory. */
  dataDir?: string;
  cfg?: AppConfig;
  /** Connections of the PostgreSQL pool; 1 unless said (a Lambda instance, a test). PGlite is one session. */
  poolSize?: number;
}

/** One factory, two drivers: node-postgres when a URL is given, embedded PGlite otherwise. */
export async function createDb(options: CreateDbOptions = {}): Promise<Db> {
  const cfg = options.cfg ?? config();
  if (options.connectionString) {
    return new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: postgresPool(options.connectionString, cfg, options.poolSize ?? 1),
      }),
    });
  }
  const dataDir = options.dataDir === 'memory' ? undefined : (options.dataDir ?? cfg.dataDir);
  return new Kysely<Database>({ dialect: await pgliteDialect(dataDir) });
}

/** Which driver the process-wide database uses, for start-up messages and health checks. */
export const describeDatabase = (cfg: AppConfig = config()): string =>
  cfg.databaseUrl ? `PostgreSQL at ${new URL(cfg.databaseUrl).host}` : `embedded PGlite in ${cfg.dataDir}`;

let shared: Promise<Db> | undefined;

/**
 * Lambda sends SIGTERM before it shuts a sandbox down (a container image only when an extension is
 * registered): the connection is closed cleanly, so the server or RDS Proxy frees it at once.
 */
function closeDbOnLambdaShutdown(): void {
  if (!config().lambdaFunctionName || process.listenerCount('SIGTERM') > 0) return;
  process.once('SIGTERM', () => void closeDb().finally(() => process.exit(0)));
}

/**
 * How many PostgreSQL connections the process-wide database holds: one per Lambda instance (it serves one
 * request at a time), `databasePoolSize` (default 10) for a long-running server such as `npm start`.
 */
export const processPoolSize = (cfg: AppConfig = config()): number =>
  cfg.lambdaFunctionName ? 1 : cfg.databasePoolSize;

/** The process-wide database, created on first use from the configuration (one per Lambda instance). */
export function getDb(): Promise<Db> {
  if (!shared) closeDbOnLambdaShutdown();
  const cfg = config();
  shared ??= createDb({ connectionString: cfg.databaseUrl, poolSize: processPoolSize(cfg) }).catch(
    (error) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}

/** Replace the process-wide database (tests, the local server). */
export function setDb(db: Db | undefined): void {
  shared = db ? Promise.resolve(db) : undefined;
}

export async function closeDb(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (current) await (await current).destroy();
}

/** One round trip to the database (readiness checks). */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}
