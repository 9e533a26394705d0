/**
 * The bare server the throughput bench compares Mira with: node:http and node-postgres only, answering
 * each route by issuing exactly the statements Mira issued for it (captured by bench/throughput.bench.ts),
 * one after another as Mira does, and returning the last one's rows as JSON; `/health` answers fixed JSON.
 * It is what the same SQL costs with nothing around it: no router, validation, middleware or logging.
 * Env: BARE_ROUTES (a JSON file: path -> statements), DATABASE_URL, BARE_POOL_SIZE. Prints its port.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

const routes = JSON.parse(readFileSync(process.env.BARE_ROUTES!, 'utf8')) as Record<
  string,
  { sql: string; parameters: unknown[] }[]
>;
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.BARE_POOL_SIZE ?? 10),
});
const HEALTH = JSON.stringify({ status: 'healthy' });

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(HEALTH);
    return;
  }
  const statements = routes[req.url ?? ''];
  if (!statements) {
    res.writeHead(404).end();
    return;
  }
  void (async () => {
    let rows: unknown[] = [];
    for (const s of statements) rows = (await pool.query(s.sql, s.parameters)).rows;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(rows));
  })().catch((error: unknown) => {
    res.writeHead(500).end(String(error));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
