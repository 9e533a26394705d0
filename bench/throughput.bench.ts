/**
 * `npm run bench -- throughput`: requests per second of Mira's local server (bin/serve.ts, the Lambdas'
 * own handlers) against a bare node:http + node-postgres server issuing exactly the same SQL
 * (bench/bare-server.ts; the statements are captured from Mira's own run of each route), both with a pool
 * of DATABASE_POOL_SIZE (10) connections, at 1, 10 and 50 concurrent keep-alive clients, on a history of
 * 100k interactions. Printed as the ratio Mira / bare (targets: >= 0.8x for DB-backed GETs, >= 0.3x for
 * /health against fixed JSON), with the load average. Then the issue's pool case: a cheap read's p50 while
 * four other clients page deep, with a pool of one connection (as before) and of ten.
 * PostgreSQL only (DATABASE_URL); the two servers run alternately, never at once.
 */
import './quiet-env';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '../test/helpers/server-process';
import { openBenchDb } from './bench-db';
import { seedHistory } from './history';
import { median, report } from './load';
import { capturingDb } from './query-plans';

if (!process.env.DATABASE_URL) {
  console.log('skipped: set DATABASE_URL to a PostgreSQL server');
  process.exit(0);
}
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const CONCURRENCY = [1, 10, 50];
const bench = await openBenchDb();
const history = await seedHistory(bench.db, 1000, 100_000);
const P = `/api/v1/${history.networkId}`;
const { contexts, defaultContextName } = await import('../functions/contexts');
const { LocalDispatcher, toApiGatewayEvent } = await import('../local/dispatch');
const { setDb } = await import('../shared/db/client');
const one = await bench.db
  .selectFrom('persons')
  .select('id')
  .where('network_id', '=', history.networkId)
  .executeTakeFirstOrThrow();
const routes = [
  `${P}/service/info`,
  `${P}/persons`,
  `${P}/persons/${one.id}`,
  `${P}/interactions?limit=50`,
  `${P}/conversations?limit=50`,
];

// The SQL of each route, as Mira runs it (auth lookups included).
const capture = capturingDb(bench.url!);
setDb(capture.db);
const dispatcher = new LocalDispatcher(contexts, defaultContextName);
const captured: Record<string, { sql: string; parameters: readonly unknown[] }[]> = {};
for (const url of routes) {
  const answer = await capture.as(url, () =>
    dispatcher.invoke(toApiGatewayEvent({ method: 'GET', url, headers: {}, body: Buffer.alloc(0) })),
  );
  if (answer.statusCode !== 200) throw new Error(`${url} answered ${answer.statusCode}`);
  captured[url] = capture.statements.filter((s) => s.label === url);
}
setDb(undefined);
await capture.db.destroy();
const work = mkdtempSync(join(tmpdir(), 'mira-bench-throughput-'));
writeFileSync(join(work, 'routes.json'), JSON.stringify(captured));

async function startBare(poolSize: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bare-server.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: bench.url,
      BARE_ROUTES: join(work, 'routes.json'),
      BARE_POOL_SIZE: String(poolSize),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(match[1]);
    }),
  );
  return { url: `http://127.0.0.1:${port}`, child };
}

async function startMira(poolSize: number) {
  const server = await spawnServer({ DATABASE_URL: bench.url, DATABASE_POOL_SIZE: String(poolSize) });
  const line = await server.waitForLine(/Mira API listening on http:\/\/localhost:(\d+)/);
  await server.waitForLine(/Mira API ready/);
  return { url: `http://127.0.0.1:${/:(\d+) /.exec(line)![1]}`, stop: () => server.stop() };
}

/** One GET on a keep-alive agent; resolves with the status once the body is read. */
const get = (agent: Agent, url: string) =>
  new Promise<number>((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });

/** Requests per second with `concurrency` clients looping for SECONDS (after a short warm-up). */
async function throughput(base: string, path: string, concurrency: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const loop = async (until: number) => {
    let n = 0;
    while (performance.now() < until) {
      const status = await get(agent, base + path);
      if (status !== 200) throw new Error(`${path} answered ${status}`);
      n++;
    }
    return n;
  };
  await Promise.all(Array.from({ length: concurrency }, () => loop(performance.now() + 200)));
  const start = performance.now();
  const counts = await Promise.all(Array.from({ length: concurrency }, () => loop(start + SECONDS * 1000)));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return counts.reduce((a, b) => a + b, 0) / elapsed;
}

try {
  console.log(
    `Mira local server vs bare node:http + pg, same SQL, pool of 10 each, ${SECONDS} s per figure; ` +
      `${history.interactions} interactions, ${history.persons} persons`,
  );
  const mira = await startMira(10);
  const bare = await startBare(10);
  try {
    for (const path of ['/health', ...routes]) {
      const label = path.replace(P, 'P').replace(one.id, '{id}');
      for (const c of CONCURRENCY) {
        // Alternated, so a busy moment of the shared machine slows both alike.
        const m = await throughput(mira.url, path, c);
        const b = await throughput(bare.url, path, c);
        const target = path === '/health' ? 0.3 : 0.8;
        const ratio = m / b;
        report(
          `${label.padEnd(30)} c=${String(c).padEnd(3)} Mira ${m.toFixed(0).padStart(6)}/s  bare ${b.toFixed(0).padStart(6)}/s  ` +
            `${ratio.toFixed(2)}x (target >= ${target}x${ratio >= target ? '' : ', MISSED'})`,
        );
      }
    }
  } finally {
    await mira.stop();
    bare.child.kill('SIGTERM');
  }

  // The case for a real pool: a cheap read while other clients page deep by offset.
  const deep = `${P}/interactions?limit=50&offset=${history.interactions - 50}`;
  const cheap = `${P}/persons/${one.id}`;
  for (const poolSize of [1, 10]) {
    const server = await startMira(poolSize);
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      let stop = false;
      const pagers = Array.from({ length: 4 }, async () => {
        while (!stop) await get(agent, server.url + deep);
      });
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        const t = performance.now();
        await get(agent, server.url + cheap);
        times.push(performance.now() - t);
      }
      stop = true;
      await Promise.all(pagers);
      agent.destroy();
      report(
        `GET P/persons/{id} p50 while 4 clients page deep, pool of ${String(poolSize).padEnd(2)}: ${median(times).toFixed(1)} ms`,
      );
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  await bench.close();
}
