import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import {
  closeCodeForRefusal,
  type WebSocketEvent,
  type WebSocketResult,
} from '../functions/realtime/handler';
import { logger } from '../shared/observability';
import { setLocalRealtimeTransport } from '../shared/realtime/publisher';
import { errorBody } from '../shared/errors';
import { lambdaContext } from './dispatch';

/** API.md: `/api/v1/realtime/ws` and `/api/v2/realtime/ws`. */
export const REALTIME_PATH = /^\/api\/v[12]\/realtime\/ws\/?$/;

/** Dead peers (a laptop that slept) are found by WebSocket pings and dropped. */
const HEARTBEAT_MS = 30_000;
/** Client messages are tiny JSON objects. */
const MAX_PAYLOAD_BYTES = 64 * 1024;

type RealtimeHandler = (event: WebSocketEvent, context: Context) => Promise<WebSocketResult>;

const event = (
  routeKey: string,
  connectionId: string,
  extra: Partial<WebSocketEvent> = {},
): WebSocketEvent => ({
  requestContext: {
    routeKey,
    connectionId,
    eventType: routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE',
    requestId: randomUUID(),
  },
  ...extra,
});

function refuse(
  socket: Duplex,
  statusCode: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const lines = Object.entries({
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`);
}

/** A close reason is at most 123 bytes (RFC 6455, 5.5: a control frame's payload is 125 bytes). */
const closeReason = (detail: string) =>
  Buffer.from(detail)
    .subarray(0, 123)
    .toString('utf8')
    .replace(/\uFFFD$/, '');

/** What `ws` needs to complete a handshake (RFC 6455); checked before $connect stores anything. */
const isWebSocketHandshake = (request: IncomingMessage) =>
  request.headers.upgrade?.toLowerCase() === 'websocket' &&
  request.headers['sec-websocket-version'] === '13' &&
  /^[A-Za-z0-9+/]{22}==$/.test(request.headers['sec-websocket-key'] ?? '');

/**
 * The realtime socket of the local server: the same handler as the Lambda behind API Gateway's WebSocket
 * API gets the same `$connect`, `$default` and `$disconnect` events, and this server plays API Gateway's
 * part: it holds the sockets and delivers what the publishers post to a connection id.
 */
export function attachLocalRealtime(
  server: Server,
  loadHandler: () => Promise<RealtimeHandler>,
): { close: () => Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
  const sockets = new Map<string, WebSocket>();
  // Events published between the handshake's $connect and the socket's opening wait here.
  const pending = new Map<string, string[]>();
  const alive = new WeakSet<WebSocket>();

  setLocalRealtimeTransport({
    async send(connectionId, message) {
      const queued = pending.get(connectionId);
      if (queued) {
        queued.push(message);
        return 'sent';
      }
      const socket = sockets.get(connectionId);
      if (!socket || socket.readyState !== WebSocket.OPEN) return 'gone';
      await new Promise<void>((resolve, reject) =>
        socket.send(message, (error) => (error ? reject(error) : resolve())),
      );
      return 'sent';
    },
  });

  /** $disconnect runs once per connection, whoever notices first; close() waits for the ones under way. */
  const disconnecting = new Map<string, Promise<unknown>>();
  const disconnect = (connectionId: string, handler: RealtimeHandler, context: Context) => {
    pending.delete(connectionId);
    sockets.delete(connectionId);
    if (!disconnecting.has(connectionId)) {
      const done = handler(event('$disconnect', connectionId), context).finally(() =>
        disconnecting.delete(connectionId),
      );
      disconnecting.set(connectionId, done);
    }
  };

  const onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!REALTIME_PATH.test(url.pathname)) {
      refuse(socket, 404, JSON.stringify(errorBody('NOT_FOUND', 'No WebSocket at this path')));
      return;
    }
    if (!isWebSocketHandshake(request)) {
      refuse(
        socket,
        400,
        JSON.stringify(errorBody('BAD_HANDSHAKE', 'Not a WebSocket version 13 handshake')),
        {
          'Sec-WebSocket-Version': '13',
        },
      );
      return;
    }
    const connectionId = randomUUID();
    pending.set(connectionId, []);
    try {
      const handler = await loadHandler();
      const context = lambdaContext('realtime');
      // A client that goes away before its socket opens must not leave its connection behind.
      socket.once('close', () => {
        if (pending.has(connectionId)) disconnect(connectionId, handler, context);
      });
      const connected = await handler(
        event('$connect', connectionId, { queryStringParameters: Object.fromEntries(url.searchParams) }),
        context,
      );
      if (connected.statusCode !== 200) {
        pending.delete(connectionId);
        const code = closeCodeForRefusal(connected.statusCode);
        if (code === undefined || socket.destroyed) {
          refuse(socket, connected.statusCode, connected.body ?? '', connected.headers);
          return;
        }
        // Opened only to say why and close: nothing is registered, so it hears no event of any network.
        wss.handleUpgrade(request, socket, head, (ws) => {
          const body = JSON.parse(connected.body ?? '{}') as { detail?: string };
          ws.send(JSON.stringify({ event: 'error', data: body }));
          ws.close(code, closeReason(body.detail ?? ''));
        });
        return;
      }
      if (socket.destroyed) {
        disconnect(connectionId, handler, context);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        sockets.set(connectionId, ws);
        for (const message of pending.get(connectionId) ?? []) ws.send(message);
        pending.delete(connectionId);
        alive.add(ws);
        ws.on('pong', () => alive.add(ws));
        ws.on('message', (data: Buffer) => {
          // A handler failure answers this message with nothing; it never reaches the event loop.
          handler(event('$default', connectionId, { body: data.toString('utf8') }), context)
            .then((answer) => {
              if (answer.body && ws.readyState === WebSocket.OPEN) ws.send(answer.body);
            })
            .catch((error: unknown) => logger.error('realtime message failed', { error }));
        });
        ws.on('close', () => disconnect(connectionId, handler, context));
      });
    } catch (error) {
      pending.delete(connectionId);
      logger.error('realtime upgrade failed', { error });
      refuse(socket, 500, JSON.stringify(errorBody('INTERNAL_ERROR', 'Internal server error')));
    }
  };
  server.on('upgrade', (request, socket, head) => void onUpgrade(request, socket, head));

  const heartbeat = setInterval(() => {
    for (const ws of sockets.values()) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS).unref();

  return {
    /** Closes every socket and waits until their connections are forgotten (before the database closes). */
    close: async () => {
      clearInterval(heartbeat);
      setLocalRealtimeTransport(undefined);
      const closing = [...sockets.values()].map(
        (ws) => new Promise((resolve) => ws.once('close', resolve).terminate()),
      );
      await Promise.all(closing);
      await Promise.allSettled([...disconnecting.values()]);
      wss.close();
    },
  };
}
