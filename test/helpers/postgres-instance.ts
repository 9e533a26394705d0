/**
 * A PostgreSQL server of a test's own: `initdb` into a temporary folder and `pg_ctl` on a free port, so a
 * fault test can stop, restart and kill it without touching the server other tests use (5432). As root the
 * binaries run as the `postgres` OS user (PostgreSQL refuses root). Always `destroy()` it (afterAll); a
 * process that dies first still stops it on exit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresInstance {
  port: number;
  /** postgres://postgres@127.0.0.1:port/postgres */
  url: string;
  start(): Promise<void>;
  /** `fast` closes sessions and shuts down cleanly; `immediate` is a crash (recovery at the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  restart(): Promise<void>;
  /** pg_terminate_backend on every other session of the instance; answers how many were ended. */
  terminateBackends(): Promise<number>;
  /** One query on a connection of its own (verification; the instance must be running). */
  query<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<T[]>;
  /** The server's log, for a failure message. */
  log(): string;
  destroy(): Promise<void>;
}

interface Binaries {
  bindir: string;
  /** Run as this OS user (root cannot run PostgreSQL). */
  asUser: string | undefined;
}

const which = (name: string): string | undefined => {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
};

let probed: { binaries?: Binaries; reason?: string } | undefined;

/** Where initdb and pg_ctl are, or why a private instance cannot be had here. */
export function postgresBinaries(): { binaries?: Binaries; reason?: string } {
  if (probed) return probed;
  const fromConfig = which('pg_config')
    ? spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' }).stdout?.trim()
    : undefined;
  const candidates = [fromConfig, which('initdb')?.replace(/\/initdb$/, '')].filter(Boolean) as string[];
  const bindir = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  if (!bindir) return (probed = { reason: 'initdb and pg_ctl are not installed (no pg_config --bindir)' });
  let asUser: string | undefined;
  if (process.getuid?.() === 0) {
    const user = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (user.status !== 0) return (probed = { reason: 'running as root and there is no postgres OS user' });
    if (!which('runuser')) return (probed = { reason: 'running as root without runuser' });
    asUser = 'postgres';
  }
  return (probed = { binaries: { bindir, asUser } });
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export async function createPostgresInstance(): Promise<PostgresInstance> {
  const { binaries, reason } = postgresBinaries();
  if (!binaries) throw new Error(`No private PostgreSQL instance: ${reason}`);
  const root = mkdtempSync(join(tmpdir(), 'mira-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  const uid = binaries.asUser ? Number(execFileSync('id', ['-u', binaries.asUser]).toString()) : undefined;
  const gid = binaries.asUser ? Number(execFileSync('id', ['-g', binaries.asUser]).toString()) : undefined;
  if (uid !== undefined) chownSync(root, uid, gid!);
  const run = (tool: string, args: string[]) => {
    const command = join(binaries.bindir, tool);
    const [file, argv] = binaries.asUser
      ? ['runuser', ['-u', binaries.asUser, '--', command, ...args]]
      : [command, args];
    const result = spawnSync(file, argv, { encoding: 'utf8', cwd: root });
    if (result.status !== 0)
      throw new Error(
        `${tool} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`,
      );
    return result.stdout;
  };

  run('initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  const port = await freePort();
  // Its own socket folder and loopback only; fsync off (a killed server still keeps what it acknowledged:
  // the WAL is in the OS cache; only a machine crash would lose it, which no test does).
  const options = [
    `-p ${port}`,
    `-k ${root}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c max_connections=40',
  ].join(' ');
  let running = false;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const stopNow = () => {
    if (!running) return;
    running = false;
    spawnSync(
      binaries.asUser ? 'runuser' : join(binaries.bindir, 'pg_ctl'),
      [
        ...(binaries.asUser ? ['-u', binaries.asUser, '--', join(binaries.bindir, 'pg_ctl')] : []),
        '-D',
        dataDir,
        'stop',
        '-m',
        'immediate',
        '-w',
      ],
      { stdio: 'ignore' },
    );
  };
  process.once('exit', stopNow);

  const instance: PostgresInstance = {
    port,
    url,
    async start() {
      run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '120', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      run('pg_ctl', ['-D', dataDir, 'stop', '-m', mode, '-w', '-t', '120']);
      running = false;
    },
    async restart() {
      run('pg_ctl', [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-o',
        options,
        '-m',
        'fast',
        '-w',
        '-t',
        '120',
        'restart',
      ]);
      running = true;
    },
    async terminateBackends() {
      const rows = await instance.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
          WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      return rows.filter((r) => r.ended).length;
    },
    async query(text, values) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        return (await client.query(text, values as any[])).rows;
      } finally {
        await client.end();
      }
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async destroy() {
      process.off('exit', stopNow);
      try {
        if (running) await instance.stop('immediate');
      } catch {
        stopNow();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  return instance;
}
