import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake Gemini API on loopback, speaking the REST protocol the real `@google/genai` SDK uses:
 * `POST /{apiVersion}/models/{model}:generateContent`. Tests point GEMINI_BASE_URL at it and run the real
 * SDK, so request building, retries, timeouts and response parsing are the SDK's own.
 *
 * Answers come from a queue (`enqueue`) or, when the queue is empty, from a handler (`respondWith`); with
 * neither, the server answers 500 so a test that forgot to script a call fails loudly.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  apiVersion: string;
  model: string;
  action: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body. */
  body: any;
}

export type FakeReply =
  | { kind: 'json'; status?: number; body: unknown }
  | { kind: 'raw'; status?: number; contentType?: string; body: string }
  /** Never answer (until the client gives up or the server stops): a timeout. */
  | { kind: 'hang' }
  /** `then`, after `ms` of scripted latency (a slow model). */
  | { kind: 'delayed'; ms: number; then: FakeReply };

export const reply = {
  /** A model answer whose single text part is `text`. */
  text: (text: string): FakeReply => ({
    kind: 'json',
    body: {
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
      modelVersion: 'fake-gemini',
    },
  }),
  /** A structured-output answer: the object serialised as the text part, as Gemini does. */
  json: (value: unknown): FakeReply => reply.text(JSON.stringify(value)),
  /** A turn with one or more function calls. */
  functionCalls: (...calls: { name: string; args?: Record<string, unknown>; id?: string }[]): FakeReply => ({
    kind: 'json',
    body: {
      candidates: [
        {
          content: { role: 'model', parts: calls.map((call) => ({ functionCall: { args: {}, ...call } })) },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      modelVersion: 'fake-gemini',
    },
  }),
  /** An API error in Google's error envelope. */
  error: (status: number, message = 'fake error'): FakeReply => ({
    kind: 'json',
    status,
    body: { error: { code: status, message, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' } },
  }),
  raw: (body: string, status = 200, contentType = 'application/json'): FakeReply => ({
    kind: 'raw',
    status,
    contentType,
    body,
  }),
  hang: (): FakeReply => ({ kind: 'hang' }),
  /** `then` after `ms` of latency, as a slow model answers. */
  after: (ms: number, then: FakeReply): FakeReply => ({ kind: 'delayed', ms, then }),
};

export type FakeHandler = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeGemini {
  /** Base URL for GEMINI_BASE_URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  requests: RecordedRequest[];
  enqueue(...replies: FakeReply[]): void;
  respondWith(handler: FakeHandler | undefined): void;
  /** Forget requests, queued replies and the handler. */
  reset(): void;
  close(): Promise<void>;
}

const ROUTE = /^\/([^/]+)\/models\/([^/:]+):([A-Za-z]+)$/;

export async function startFakeGemini(): Promise<FakeGemini> {
  const requests: RecordedRequest[] = [];
  let queue: FakeReply[] = [];
  let handler: FakeHandler | undefined;
  const sockets = new Set<Socket>();

  const send = (res: ServerResponse, answer: FakeReply): void => {
    if (answer.kind === 'hang') return;
    if (answer.kind === 'delayed') {
      const timer = setTimeout(() => send(res, answer.then), answer.ms);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (answer.kind === 'raw') {
      res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json' });
      res.end(answer.body);
      return;
    }
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const match = ROUTE.exec(path);
    if (req.method !== 'POST' || !match) {
      send(res, reply.error(404, `fake-gemini: no route for ${req.method} ${path}`));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      send(res, reply.error(400, 'fake-gemini: body is not JSON'));
      return;
    }
    const recorded: RecordedRequest = {
      method: req.method,
      path,
      apiVersion: match[1],
      model: decodeURIComponent(match[2]),
      action: match[3],
      headers: req.headers,
      body,
    };
    requests.push(recorded);
    const next = queue.shift();
    const answer =
      next ?? (handler ? await handler(recorded) : reply.error(500, 'fake-gemini: nothing scripted'));
    send(res, answer);
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, reply.error(500, `fake-gemini: ${String(error)}`));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    respondWith: (next) => {
      handler = next;
    },
    reset: () => {
      requests.length = 0;
      queue = [];
      handler = undefined;
    },
    close: async () => {
      // Hanging requests keep their sockets open; end them so close() returns.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
