/**
 * The local server of `npm start` (bin/serve.ts): the very handlers the Lambdas use behind a plain HTTP
 * server. It listens before it opens the database (a port in use is said at once, before the embedded
 * database is opened), answers `/health` while the database is down and migrates as soon as it answers;
 * `shutdown` finishes the requests in flight (bounded) and closes the database.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contexts, defaultContextName } from '../functions/contexts';
import { config } from '../shared/config';
import { closeDb, describeDatabase, getDb, setDb, type Db } from '../shared/db/client';
import { errorBody, type ErrorCode } from '../shared/errors';
import { localUtteranceWorker } from '../functions/interactions/worker';
import { LocalDispatcher, toApiGatewayEvent } from './dispatch';
import { attachLocalRealtime, REALTIME_PATH } from './realtime';
import { localUpload } from './uploads';
import { unavailableDb, waitForDatabase } from './startup';

/** The port cannot be listened on; the message is the one line printed before exiting. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

export interface LocalServerOptions {
  port?: number;
  host?: string;
  /** Where start-up and shutdown lines go (default: stdout). */
  log?: (line: string) => void;
  /** Bound on finishing the requests in flight at shutdown, in ms. */
  drainMs?: number;
}

export interface ShutdownReport {
  /** Requests still unanswered when the drain bound ran out (their connections were cut). */
  cut: number;
  drainedMs: number;
}

export interface LocalServer {
  server: Server;
  port: number;
  /**
   * Resolves true once the database is migrated and every route is served (false when shut down before);
   * rejects when the database is unusable.
   */
  ready: Promise<boolean>;
  /** Requests received and not yet answered. */
  inFlight: () => number;
  /**
   * Stops accepting, lets the requests in flight finish (at most `drainMs`), closes every socket, and closes
   * the database when `closeDatabase` (the process-wide one; tests keep theirs).
   */
  shutdown: (options?: { closeDatabase?: boolean }) => Promise<ShutdownReport>;
}

const json = (res: ServerResponse, status: number, code: ErrorCode, detail: string, headers = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(errorBody(code, detail)));
};

/** The path of a request target without trusting it to be a URL (`//`, `*` and bad escapes included). */
const pathOf = (target: string) => target.split('?')[0];

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE')
        reject(new ListenError(`Port ${port} is in use (${where}): another server listens there; set PORT`));
      else if (error.code === 'EACCES')
        reject(new ListenError(`Not allowed to listen on ${where}; set PORT to 1024 or above`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
        reject(new ListenError(`Cannot listen on ${where}: no such local address; set HOST`));
      else reject(new ListenError(`Cannot listen on ${where}: ${error.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Listens, then opens the database in the background: until it is migrated, the process-wide database is
 * one whose every connection fails as "not ready", so the pipeline answers `/health` 200,
 * `/health/detailed` 503 and every route that needs the database 503 DATABASE_UNAVAILABLE with Retry-After.
 */
export async function openLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const cfg = config();
  const port = options.port ?? cfg.port;
  const host = options.host ?? '0.0.0.0';
  const log = options.log ?? ((line: string) => console.log(line));
  const drainMs = options.drainMs ?? 10_000;
  const dispatcher = new LocalDispatcher(contexts, defaultContextName);
  let active = 0;
  let draining = false;
  const idle = new Set<() => void>();

  const answer = async (req: IncomingMessage, res: ServerResponse, body: Buffer | undefined) => {
    if (body === undefined) {
      const detail = `Request body is over the limit of ${cfg.maxBodyBytes} bytes`;
      return json(res, 413, 'PAYLOAD_TOO_LARGE', detail, { Connection: 'close' });
    }
    if (REALTIME_PATH.test(pathOf(req.url ?? '/'))) {
      res.writeHead(426, { 'Content-Type': 'application/json', Upgrade: 'websocket', Connection: 'Upgrade' });
      res.end(
        JSON.stringify(errorBody('UPGRADE_REQUIRED', 'This is a WebSocket: open it with an Upgrade request')),
      );
      return;
    }
    let event;
    try {
      event = toApiGatewayEvent({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
        sourceIp: req.socket.remoteAddress,
      });
    } catch {
      return json(res, 400, 'BAD_REQUEST', 'The request target is not a valid URL');
    }
    const result = await dispatcher.invoke(event);
    const streamed = streamBody(result);
    if (streamed) {
      // A streamed answer (the voice command's text/event-stream), written as it is produced.
      res.writeHead(result.statusCode ?? 200, {
        ...(result.headers as Record<string, string>),
        ...(draining ? { Connection: 'close' } : {}),
      });
      res.flushHeaders();
      for await (const chunk of streamed) res.write(chunk);
      res.end();
      return;
    }
    const bytes = result.body
      ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8')
      : undefined;
    res.writeHead(result.statusCode ?? 200, {
      ...(result.headers as Record<string, string>),
      ...(result.cookies?.length ? { 'Set-Cookie': result.cookies } : {}),
      // While draining, no connection is kept for another request.
      ...(draining ? { Connection: 'close' } : {}),
    });
    res.end(bytes);
  };

  const server = createServer((req, res) => {
    active++;
    res.once('close', () => {
      active--;
      if (active === 0) for (const resolve of idle) resolve();
    });
    // An upload URL of POST P/uploads (S3's presigned PUT in AWS): its own size bound, not the API's.
    const upload = localUpload(req, res);
    if (upload) return void upload.catch(() => res.destroy());
    // Bodies are held in memory: past the limit the rest is read and dropped, and the answer is 413.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= cfg.maxBodyBytes) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      answer(req, res, size <= cfg.maxBodyBytes ? Buffer.concat(chunks) : undefined).catch((error) => {
        console.error(error);
        if (res.headersSent) return void res.destroy();
        json(res, 500, 'INTERNAL_ERROR', 'Internal server error');
      });
    });
  });

  // What Node's HTTP parser refuses (a bad Content-Length, headers over its limit) is answered in the same
  // error shape as everything else, rather than a bare status line.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const detail =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'The request line and headers are too large'
        : 'The request is not valid HTTP/1.1';
    const body = JSON.stringify(errorBody('BAD_REQUEST', detail));
    socket.end(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
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

  // The port first: a port in use is said before the embedded database is opened.
  await listen(server, port, host);
  const address = server.address() as AddressInfo;

  // The database in the background; requests meanwhile meet the "not ready" one.
  const where = describeDatabase(cfg);
  let cause = 'starting';
  const stop = new AbortController();
  const opening = getDb();
  // The handlers' getDb() sees the stand-in until the real database is migrated (tests' own set database
  // included: it is what `opening` resolves to).
  setDb(unavailableDb(() => cause));
  let real: Db | undefined;
  let installed = false;
  let sweep: { stop: () => void } | undefined;
  const ready = waitForDatabase({
    open: async () => (real = await opening),
    where,
    log,
    signal: stop.signal,
    onWaiting: (latest) => (cause = latest),
  }).then((outcome) => {
    if (!outcome) return false;
    setDb(outcome.db);
    installed = true;
    sweep = startMemorySweep(outcome.db, cfg.memory.sweepIntervalSeconds);
    // The in-process worker of the local queue: it also picks up what a crash left accepted and unprocessed.
    if (!cfg.pipeline.queueUrl) localUtteranceWorker().start();
    const waited = outcome.waitedMs > 1_000 ? ` after waiting ${outcome.waitedMs} ms` : '';
    const applied = outcome.applied.length ? `, ${outcome.applied.length} migrations applied` : '';
    log(`Database ready (${where})${applied}${waited}`);
    return true;
  });
  // An unusable database ends the server (the caller decides how); never an unhandled rejection.
  ready.catch(() => undefined);

  const shutdown = async ({ closeDatabase = false } = {}): Promise<ShutdownReport> => {
    const started = performance.now();
    draining = true;
    stop.abort();
    sweep?.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let cut = 0;
    if (active > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<boolean>((resolve) => {
        const done = () => resolve(true);
        idle.add(done);
        timer = setTimeout(() => resolve(false), drainMs);
      });
      if (!(await drained)) cut = active;
      clearTimeout(timer);
    }
    server.closeAllConnections();
    await closed;
    // Jobs in flight finish (their copies are leased); the rest stay queued for the next start.
    await localUtteranceWorker().stop();
    if (closeDatabase) {
      await ready.catch(() => undefined);
      await closeDb();
      // Still waiting (never installed): the real database is closed here.
      if (real && !installed) await real.destroy().catch(() => undefined);
    }
    return { cut, drainedMs: Math.round(performance.now() - started) };
  };

  return { server, port: address.port, ready, inFlight: () => active, shutdown };
}

/** The server with every route served (tests): listens, waits until the database is migrated. */
export async function startLocalServer(port = config().port, host = '0.0.0.0'): Promise<Server> {
  const local = await openLocalServer({ port, host, log: () => undefined });
  try {
    if (!(await local.ready)) throw new Error('The local server stopped before its database was ready');
  } catch (error) {
    await local.shutdown();
    throw error;
  }
  return local.server;
}

/** The body of a streamed answer, when the handler gave a stream instead of a string. */
function streamBody(result: { body?: unknown }): AsyncIterable<Buffer | string> | undefined {
  const body = result.body;
  if (body && typeof body === 'object' && Symbol.asyncIterator in body)
    return body as AsyncIterable<Buffer | string>;
  return undefined;
}

/**
 * The memory sweep on a timer (AWS runs the same function on a schedule): quiet conversations end and
 * are summarised, memories past their time expire, stored texts get their embeddings. One run at a time.
 */
function startMemorySweep(db: Db, seconds: number): { stop: () => void } | undefined {
  if (seconds <= 0) return undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void import('../functions/memories/sweep')
      .then(({ runMemorySweep }) => runMemorySweep(db))
      .catch((error: unknown) => console.error('memory sweep failed:', error))
      .finally(() => (running = false));
  }, seconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
