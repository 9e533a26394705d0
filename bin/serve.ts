/**
 * Local API (`npm start`): serves the very handlers the Lambdas use (local/server.ts), on the embedded
 * PGlite database unless DATABASE_URL points at a PostgreSQL server.
 *
 * It runs unattended: a misconfiguration (a bad setting, a port in use, a database that refuses) is one
 * line on stderr and exit code 1, not a stack; a database that is down is waited for (the server answers
 * `/health` meanwhile and migrates as soon as the database answers); SIGTERM and SIGINT finish the requests
 * in flight (at most 10 s) and close the database.
 *
 * Only the configuration is imported up front: modules that read it at import time (the logger) must see
 * the defaults below, and a bad setting must be said before anything else can throw on it.
 */
import type { Server } from 'node:http';
import { ConfigError, config } from '../shared/config';

// Old clients reach network-scoped routes by network id alone; locally that stays on unless said otherwise.
process.env.LEGACY_NETWORK_AUTH ??= 'true';

/** The server with every route served (tests): listens, and resolves once the database is migrated. */
export async function startLocalServer(port?: number, host = process.env.HOST ?? '0.0.0.0'): Promise<Server> {
  const { startLocalServer: start } = await import('../local/server');
  return start(port, host);
}

const oneLiners = ['ConfigError', 'ListenError', 'DatabaseUnusable'];

function fail(error: unknown): never {
  if (error instanceof Error && oneLiners.includes(error.name)) console.error(`mira: ${error.message}`);
  else console.error('mira: the server stopped on an unexpected error:', error);
  process.exit(1);
}

async function main(): Promise<void> {
  try {
    config();
  } catch (error) {
    fail(error instanceof ConfigError ? error : new ConfigError(String((error as Error)?.message)));
  }
  const [{ openLocalServer }, { describeDatabase }] = await Promise.all([
    import('../local/server'),
    import('../shared/db/client'),
  ]);
  let local: Awaited<ReturnType<typeof openLocalServer>>;
  try {
    local = await openLocalServer({ host: process.env.HOST ?? '0.0.0.0' });
  } catch (error) {
    fail(error);
  }
  const { port } = local;
  console.log(`Mira API listening on http://localhost:${port} (database: ${describeDatabase()})`);
  console.log(`API reference: http://localhost:${port}/docs`);
  local.ready.then((served) => served && console.log(`Mira API ready on http://localhost:${port}`), fail);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.log(`${signal} received again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    const pending = local.inFlight();
    console.log(
      `${signal} received: shutting down` +
        (pending ? ` after ${pending} request${pending === 1 ? '' : 's'} in flight (at most 10 s)` : ''),
    );
    local.shutdown({ closeDatabase: true }).then(({ cut, drainedMs }) => {
      console.log(
        cut
          ? `Stopped after ${drainedMs} ms; ${cut} request${cut === 1 ? ' was' : 's were'} cut short`
          : `Stopped cleanly in ${drainedMs} ms`,
      );
      process.exit(cut ? 1 : 0);
    }, fail);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bin/serve.ts');
if (isMain) await main();
