import { randomUUID } from 'node:crypto';
import { contexts, defaultContextName } from '../../functions/contexts';
import { LocalDispatcher, toApiGatewayEvent } from '../../local/dispatch';

export interface TestResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
  /** The raw body text (or base64 for binary answers). */
  text: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A JSON-serialisable body, a Buffer (sent as is) or a multipart form built with `multipart()`. */
  body?: unknown;
  token?: string;
  /** The caller's address as API Gateway reports it (default 127.0.0.1). */
  sourceIp?: string;
}

export interface MultipartForm {
  buffer: Buffer;
  contentType: string;
}

/** A multipart/form-data body; a Buffer value becomes a file part. */
export function multipart(
  fields: Record<string, string | Buffer | { filename: string; content: Buffer; mimetype?: string }>,
): MultipartForm {
  const boundary = `----mira${randomUUID().replace(/-/g, '')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') {
      parts.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
      );
      continue;
    }
    const file = Buffer.isBuffer(value) ? { filename: `${name}.bin`, content: value } : value;
    const mimetype = 'mimetype' in file && file.mimetype ? file.mimetype : 'application/octet-stream';
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file.filename}"\r\nContent-Type: ${mimetype}\r\n\r\n`,
      ),
      file.content,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { buffer: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

const isMultipart = (body: unknown): body is MultipartForm =>
  typeof body === 'object' && body !== null && 'contentType' in body && 'buffer' in body;

/** The request's headers and bytes, with the content type its body implies. */
function encodeRequest(options: RequestOptions): { headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: Buffer = Buffer.alloc(0);
  if (isMultipart(options.body)) {
    body = options.body.buffer;
    headers['content-type'] ??= options.body.contentType;
  } else if (Buffer.isBuffer(options.body)) {
    body = options.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (typeof options.body === 'string') {
    body = Buffer.from(options.body);
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = Buffer.from(JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
  }
  return { headers, body };
}

function decodeResponse<T>(status: number, headers: Record<string, string>, text: string): TestResponse<T> {
  let parsed: unknown = text;
  if ((headers['content-type'] ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status, headers, body: parsed as T, text };
}

type Send = <T = any>(method: string, path: string, options?: RequestOptions) => Promise<TestResponse<T>>;

const withMethods = (request: Send) => ({
  request,
  get: <T = any>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T = any>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('POST', path, { ...options, body }),
  patch: <T = any>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('PATCH', path, { ...options, body }),
  put: <T = any>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('PUT', path, { ...options, body }),
  delete: <T = any>(path: string, options?: RequestOptions) => request<T>('DELETE', path, options),
});

/**
 * Calls the real Lambda handlers (the whole Middy pipeline) with API Gateway v2 events, routed to the
 * context that owns each path exactly as the local server does.
 */
export function createTestApi() {
  const dispatcher = new LocalDispatcher(contexts, defaultContextName);
  return withMethods(async <T = any>(method: string, path: string, options: RequestOptions = {}) => {
    const { headers, body } = encodeRequest(options);
    const result = await dispatcher.invoke(
      toApiGatewayEvent({ method, url: path, headers, body, sourceIp: options.sourceIp }),
    );
    const responseHeaders = Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
    return decodeResponse<T>(result.statusCode ?? 200, responseHeaders, await bodyText(result.body));
  });
}

/** A handler's body as text; a streamed one (text/event-stream) is read to its end. */
async function bodyText(body: unknown): Promise<string> {
  if (body && typeof body === 'object' && Symbol.asyncIterator in body) {
    let text = '';
    for await (const chunk of body as AsyncIterable<Buffer | string>) text += chunk.toString();
    return text;
  }
  return (body as string | undefined) ?? '';
}

/** The same calls over real HTTP, to a running server (the local server of `bin/serve.ts`). */
export function createServerApi(baseUrl: string): TestApi {
  return withMethods(async <T = any>(method: string, path: string, options: RequestOptions = {}) => {
    const { headers, body } = encodeRequest(options);
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body.length ? body : undefined });
    return decodeResponse<T>(res.status, Object.fromEntries(res.headers.entries()), await res.text());
  });
}

export type TestApi = ReturnType<typeof createTestApi>;
