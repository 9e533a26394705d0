import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { BoundedContext } from '../functions/contexts';
import type { ApiEvent, ApiHandler, ApiResult } from '../shared/http/pipeline';
import { Router } from '../shared/http/router';

/** Content types whose bodies API Gateway passes as text; everything else arrives base64-encoded. */
const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|xml|[\w.+-]+\+json)|text\/)/i;

export interface RawRequest {
  method: string;
  /** Path and query string, as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sourceIp?: string;
}

/** Turns an HTTP request into the API Gateway HTTP API (payload 2.0) event the Lambda would receive. */
export function toApiGatewayEvent(request: RawRequest): ApiEvent {
  // An origin-form target is a path: `//x/y` stays that path rather than naming a host `x`.
  const url = request.url.startsWith('/')
    ? new URL(`http://localhost${request.url}`)
    : new URL(request.url, 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const cookies = headers.cookie?.split(';').map((c) => c.trim());
  delete headers.cookie;
  const isText = TEXT_TYPES.test(headers['content-type'] ?? 'text/plain');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies,
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method.toUpperCase(),
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: request.body.length ? request.body.toString(isText ? 'utf8' : 'base64') : undefined,
    isBase64Encoded: request.body.length > 0 && !isText,
  };
}

export const lambdaContext = (functionName: string): Context => {
  const requestId = randomUUID();
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/**
 * Routes events to the context whose route table owns the path, as the HTTP API's route mapping does,
 * and loads each context's handler once.
 */
export class LocalDispatcher {
  private readonly routers: Array<{ context: BoundedContext; router: Router }>;
  private readonly handlers = new Map<string, Promise<ApiHandler>>();

  constructor(
    private readonly contexts: BoundedContext[],
    private readonly fallback: string,
  ) {
    this.routers = contexts.map((context) => ({ context, router: new Router(context.routes) }));
  }

  contextFor(method: string, path: string): BoundedContext {
    let pathOwner: BoundedContext | undefined;
    for (const { context, router } of this.routers) {
      const match = router.match(method, path);
      if (match.kind === 'found') return context;
      if (match.kind === 'method_not_allowed') pathOwner ??= context;
    }
    return pathOwner ?? this.contexts.find((c) => c.name === this.fallback)!;
  }

  async invoke(event: ApiEvent): Promise<ApiResult> {
    const context = this.contextFor(event.requestContext.http.method, event.rawPath);
    let handler = this.handlers.get(context.name);
    if (!handler) this.handlers.set(context.name, (handler = context.loadHandler()));
    return (await handler)(event, lambdaContext(`mira-${context.name}`));
  }
}
