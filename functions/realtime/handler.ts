import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { getDb } from '../../shared/db/client';
import { removeRealtimeConnection, touchRealtimeConnection } from '../../shared/db/repositories/realtime';
import { invokeAsync } from '../../shared/aws/lambda-invoke';
import { config } from '../../shared/config';
import {
  closeApiGatewayConnection,
  OPENING_SOCKET_WAIT_MS,
  sendToConnection,
  type RealtimeEvent,
} from '../../shared/realtime/publisher';
import { openSession } from './service';
import { authenticateSocket } from '../../shared/http/auth';
import { errorBody, HttpError, validationError } from '../../shared/errors';
import { clientIdSchema } from '../../shared/http/validation';
import { countMetric, logger, metrics } from '../../shared/observability';

/**
 * The realtime socket (API.md: `/api/vN/realtime/ws?token=...&client_id=...`). In AWS an API Gateway
 * WebSocket API holds the sockets and invokes this function on `$connect`, `$disconnect` and every
 * message (`$default`); events are pushed by whichever function made the change (shared/realtime). The
 * local server turns its own WebSocket connections into the same events.
 */
export interface WebSocketEvent {
  requestContext: {
    routeKey: string;
    connectionId: string;
    eventType?: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    requestId?: string;
    /** API Gateway: the WebSocket API's domain and stage, which name its management endpoint. */
    domainName?: string;
    stage?: string;
  };
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/**
 * The realtime function's own asynchronous call (AWS): greets a socket once API Gateway has opened it,
 * since nothing can be posted to a connection before its `$connect` answered.
 */
export interface GreetingEvent {
  /** `close`: the socket was refused; it is told why, then closed. */
  greet: { connectionId: string; callbackUrl: string; events: RealtimeEvent[]; close?: boolean };
}

/**
 * The close code that tells a client not to try again with the same request (API.md: 4001 bad or expired
 * token, 4003 not allowed on this network; 1008 for any other request it must change first). The 4.x app
 * reconnects after every other close, and a browser sees only 1006 when a handshake is refused over HTTP,
 * so such a socket is opened, told why, and closed. A server fault (5xx) or a throttle stays an HTTP
 * refusal: trying again later is right. API Gateway closes with 1000 whatever the server wants (its
 * DeleteConnection takes no code), which the 4.x app also takes as final; the error event says why.
 */
export function closeCodeForRefusal(statusCode: number): number | undefined {
  if (statusCode === 401) return 4001;
  if (statusCode === 403) return 4003;
  if (statusCode >= 400 && statusCode < 500 && statusCode !== 429) return 1008;
  return undefined;
}

/** Where API Gateway's management API for this socket is, when running behind it. */
function managementUrl(event: WebSocketEvent): string | undefined {
  const { domainName, stage } = event.requestContext;
  return config().realtimeCallbackUrl ?? (domainName && stage ? `https://${domainName}/${stage}` : undefined);
}

export interface WebSocketResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Messages are small JSON objects; anything bigger is refused unread. */
const MAX_MESSAGE_BYTES = 4096;

const json = (statusCode: number, body: unknown): WebSocketResult => ({
  statusCode,
  body: JSON.stringify(body),
});

async function connect(event: WebSocketEvent): Promise<WebSocketResult> {
  const query = event.queryStringParameters ?? {};
  // The same rule as a registered client's name.
  const clientId = clientIdSchema.safeParse(query.client_id?.trim());
  if (!clientId.success) {
    throw validationError('client_id is required: 1 to 64 letters, digits, "-", "_" or spaces', [
      { path: 'query.client_id', message: query.client_id ? 'Invalid client_id' : 'Required' },
    ]);
  }
  const db = await getDb();
  const who = await authenticateSocket(db, query.token, query.network_id || undefined);
  const { connectionId } = event.requestContext;
  const greeting = await openSession(db, { connectionId, clientId: clientId.data, ...who });
  await greet(connectionId, event, greeting);
  countMetric('RealtimeConnections');
  logger.info('realtime socket opened', { networkId: who.networkId, clientId: clientId.data });
  return { statusCode: 200 };
}

/**
 * `session_ready` and `service_status` go out first. The local server queues what is sent during
 * `$connect` and delivers it once the socket is open. API Gateway accepts no message before `$connect`
 * answered: the function invokes itself asynchronously, and that call posts them (retrying while the
 * socket is still opening).
 */
async function greet(connectionId: string, event: WebSocketEvent, events: RealtimeEvent[]): Promise<void> {
  const { lambdaFunctionName } = config();
  const callbackUrl = managementUrl(event);
  try {
    if (lambdaFunctionName && callbackUrl) {
      const greeting: GreetingEvent = { greet: { connectionId, callbackUrl, events } };
      await invokeAsync(lambdaFunctionName, greeting);
      return;
    }
    await sendToConnection(connectionId, events);
  } catch (error) {
    // The socket still works without its greeting (uploads with the bearer token alone); it is logged.
    logger.error('realtime greeting failed', { error, connectionId });
    countMetric('RealtimeSendFailures');
  }
}

async function message(event: WebSocketEvent): Promise<WebSocketResult> {
  const raw = event.body ?? '';
  countMetric('RealtimeMessages');
  if (Buffer.byteLength(raw) > MAX_MESSAGE_BYTES) {
    return json(200, { event: 'error', ...errorBody('MESSAGE_TOO_LARGE', 'Message too large') });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw);
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed === 'object' && (parsed as { type?: unknown }).type === 'ping') {
    // A ping also says the socket is alive: its row is kept fresh.
    await touchRealtimeConnection(await getDb(), event.requestContext.connectionId);

    return json(200, { type: 'pong' });
  }
  return json(200, {
    event: 'error',
    ...errorBody('UNKNOWN_MESSAGE', 'Unknown message; the only message a client sends is {"type": "ping"}'),
  });
}

async function route(event: WebSocketEvent | GreetingEvent): Promise<WebSocketResult> {
  if ('greet' in event) {
    const { connectionId, callbackUrl, events, close } = event.greet;
    try {
      const sent = await sendToConnection(connectionId, events, {
        callbackUrl,
        waitForOpenMs: OPENING_SOCKET_WAIT_MS,
      });
      if (sent !== 'sent') logger.warn('realtime greeting not delivered', { connectionId, sent });
    } catch (error) {
      logger.error('realtime greeting failed', { error, connectionId });
      countMetric('RealtimeSendFailures');
    }
    // A refused socket is closed even when its error could not be delivered.
    if (close) await closeApiGatewayConnection(callbackUrl, connectionId);
    return { statusCode: 200 };
  }
  try {
    switch (event.requestContext.routeKey) {
      case '$connect':
        return await connect(event);
      case '$disconnect':
        await removeRealtimeConnection(await getDb(), event.requestContext.connectionId);
        countMetric('RealtimeDisconnections');
        return { statusCode: 200 };
      default:
        return await message(event);
    }
  } catch (error) {
    // On $connect the status refuses the handshake (API Gateway answers it to the client).
    if (error instanceof HttpError) {
      countMetric('RealtimeRefused');
      const refusedOpenly = await refuseBehindApiGateway(event, error);
      if (refusedOpenly) return refusedOpenly;
      // With the error's headers: WWW-Authenticate on a 401.
      return { ...json(error.status, error.toBody()), headers: error.headers };
    }
    logger.error('realtime handler failed', { error, routeKey: event.requestContext.routeKey });
    return json(500, errorBody('INTERNAL_ERROR', 'Internal server error'));
  }
}

/**
 * Behind API Gateway, a socket refused for a reason the client must act on is accepted, then told why and
 * closed by the function's own asynchronous call (see closeCodeForRefusal). It is never registered, so it
 * hears nothing. Locally the server does the same with the refusal's status (local/realtime.ts).
 */
async function refuseBehindApiGateway(
  event: WebSocketEvent,
  error: HttpError,
): Promise<WebSocketResult | undefined> {
  const { lambdaFunctionName } = config();
  const callbackUrl = managementUrl(event);
  if (event.requestContext.routeKey !== '$connect' || closeCodeForRefusal(error.status) === undefined)
    return undefined;
  if (!lambdaFunctionName || !callbackUrl) return undefined;
  const refusal: GreetingEvent = {
    greet: {
      connectionId: event.requestContext.connectionId,
      callbackUrl,
      events: [{ event: 'error', data: error.toBody() }],
      close: true,
    },
  };
  await invokeAsync(lambdaFunctionName, refusal);
  return { statusCode: 200 };
}

export const handler = middy<WebSocketEvent | GreetingEvent, WebSocketResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(route);
