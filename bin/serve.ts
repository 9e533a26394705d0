/**
 * Local API: serves the very handlers the Lambdas use, on the embedded PGlite database unless
 * DATABASE_URL points at a PostgreSQL server. Each HTTP request becomes an API Gateway v2 event; the
 * realtime socket's connections become the WebSocket API's events.
 */
import { createServer, type Server } from 'node:http';
import { contexts, defaultContextName } from '../functions/contexts';
import { config } from '../shared/config';
import { closeDb, describeDatabase, getDb } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';
import { errorBody } from '../shared/errors';
import { LocalDispatcher, toApiGatewayEvent } from '../local/dispatch';
import { attachLocalRealtime, REALTIME_PATH } from '../local/realtime';

// Old clients reach network-scoped routes by network id alone; locally that stays on unless said otherwise.
process.env.LEGACY_NETWORK_AUTH ??= 'true';

export async function startLocalServer(
  port = config().port,
  host = process.env.HOST ?? '0.0.0.0',
): Promise<Server> {
  const db = await getDb();
  await migrateToLatest(db);
  const dispatcher = new LocalDispatcher(contexts, defaultContextName);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- every failure is answered in its try/catch
    req.on('end', async () => {
      if (REALTIME_PATH.test(new URL(req.url ?? '/', 'http://localhost').pathname)) {
        res.writeHead(426, {
          'Content-Type': 'application/json',
          Upgrade: 'websocket',
          Connection: 'Upgrade',
        });
        res.end(
          JSON.stringify(
            errorBody('UPGRADE_REQUIRED', 'This is a WebSocket: open it with an Upgrade request'),
          ),
        );
        return;
      }
      try {
        const event = toApiGatewayEvent({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks),
          sourceIp: req.socket.remoteAddress,
        });
        const result = await dispatcher.invoke(event);
        const body = result.body
          ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8')
          : undefined;
        res.writeHead(result.statusCode ?? 200, {
          ...(result.headers as Record<string, string>),
          ...(result.cookies?.length ? { 'Set-Cookie': result.cookies } : {}),
        });
        res.end(body);
      } catch (error) {
        console.error(error);
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            detail: 'Internal server error',
            error_code: 'INTERNAL_ERROR',
            timestamp: new Date().toISOString(),
          }),
        );
      }
    });
  });

  // The realtime socket, served by the same handler as the WebSocket API's Lambda.
  const realtime = attachLocalRealtime(
    server,
    async () => (await import('../functions/realtime/handler')).handler,
  );
  // Upgraded sockets are no longer the HTTP server's connections: close them too, or close() never ends.
  const closeHttp = server.close.bind(server);
  server.close = (callback) => {
    void realtime.close().finally(() => closeHttp(callback));
    return server;
  };

  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bin/serve.ts');
if (isMain) {
  const server = await startLocalServer();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config().port;
  console.log(`Mira API listening on http://localhost:${port} (database: ${describeDatabase()})`);
  console.log(`API reference: http://localhost:${port}/docs`);
  const shutdown = (signal: string) => {
    console.log(`${signal} received, shutting down`);
    server.close(() => {
      void closeDb().finally(() => process.exit(0));
    });
    server.closeAllConnections();
    setTimeout(() => process.exit(1), 5_000).unref();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
