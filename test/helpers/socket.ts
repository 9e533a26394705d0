import { WebSocket } from 'ws';

/** How long a test waits for a realtime event before it fails with what it did receive. */
export const EVENT_TIMEOUT_MS = 5000;

/** A realtime socket that keeps every message it received, in order. */
export interface RecordingSocket {
  ws: WebSocket;
  /** Every message so far (JSON-parsed); `forget()` drops the ones already taken. */
  received: any[];
  /** The first message not yet taken that matches; earlier ones are taken with it. */
  next: (predicate?: (message: any) => boolean, timeoutMs?: number) => Promise<any>;
  /** Drops the messages taken so far from `received`. */
  forget: () => void;
  send: (message: unknown) => void;
  /** The close code, once the socket has closed (by either side). */
  closed: Promise<{ code: number; reason: string }>;
  close: () => Promise<void>;
}

/** Every socket the tests of this file opened; `closeSockets()` closes them. */
const opened: WebSocket[] = [];

/** `ws://...` for the realtime path of `base` (an http URL) with the query's defined entries. */
export function realtimeUrl(base: string, query: Record<string, string | undefined>, version = 'v1') {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  return `${base.replace(/^http/, 'ws')}/api/${version}/realtime/ws?${params.toString()}`;
}

/**
 * Opens `url` and records what arrives. Resolves once the socket is open; rejects when the handshake is
 * refused over HTTP (with its status). A socket the server opens only to close it resolves too: read
 * `closed`.
 */
export function openRecordingSocket(url: string): Promise<RecordingSocket> {
  const ws = new WebSocket(url);
  opened.push(ws);
  const received: any[] = [];
  const waiters = new Set<() => void>();
  let taken = 0;
  ws.on('message', (data: Buffer) => {
    received.push(JSON.parse(data.toString('utf8')));
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  const next = (predicate: (message: any) => boolean = () => true, timeoutMs = EVENT_TIMEOUT_MS) =>
    new Promise<any>((resolve, reject) => {
      const look = () => {
        const at = received.findIndex((message, i) => i >= taken && predicate(message));
        if (at < 0) return false;
        taken = at + 1;
        waiters.delete(look);
        clearTimeout(timer);
        resolve(received[at]);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(look);
        reject(new Error(`no matching event within ${timeoutMs} ms; received: ${JSON.stringify(received)}`));
      }, timeoutMs);
      if (!look()) waiters.add(look);
    });
  const socket: RecordingSocket = {
    ws,
    received,
    next,
    forget: () => {
      received.splice(0, taken);
      taken = 0;
    },
    send: (message) => ws.send(JSON.stringify(message)),
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`handshake refused with ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
}

/** Closes every socket opened so far and waits until each has closed (so the server saw it go). */
export async function closeSockets(): Promise<void> {
  await Promise.all(
    opened.splice(0).map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.on('error', () => {}); // a refused handshake's socket errors once terminated
          ws.once('close', () => resolve());
          if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
          else ws.close();
        }),
    ),
  );
}
