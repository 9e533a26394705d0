import { awsTargetFromEnvironment, sendSigned } from '../aws/signed-request';
import { config, awsEnvironment } from '../config';
import type { Db } from '../db/client';
import { listRealtimeConnections, removeRealtimeConnection } from '../db/repositories/realtime';
import { countMetric, logger } from '../observability';

/**
 * Events pushed to a network's realtime sockets (API.md, "Realtime socket"). Each carries what the REST
 * API would answer for the same object, so a client renders both the same way.
 */
export type RealtimeEvent =
  | {
      event: 'session_ready';
      session_id: string;
      session_token: string;
      client_id: string;
      expires_in_seconds: number;
    }
  | { event: 'service_status'; enabled: boolean }
  | { event: 'conversation'; data: unknown }
  | { event: 'interaction'; data: unknown }
  | { event: 'action'; data: unknown }
  | { event: 'episodic_memory'; data: unknown }
  /** An interaction (and, by `action_deleted`, an action) that no longer exists: `forget` removed it. */
  | { event: 'interaction_deleted'; data: { id: string; conversation_id: string | null } }
  | { event: 'action_deleted'; data: { id: string } }
  | {
      event: 'command_response';
      /** `target_client_id`: the device whose copy won (the nearest to the speaker), which says the reply. */
      data: { interaction_id?: string; message: string; target_client_id?: string };
    }
  /** Why the server is about to close this socket, or why an accepted upload failed. */
  | { event: 'error'; data: { error_code: string; detail: string; [key: string]: unknown } };

/** How a message reaches one socket. */
export interface ConnectionTransport {
  /** `gone` when the socket no longer exists: its row is then removed. */
  send(connectionId: string, message: string): Promise<'sent' | 'gone'>;
}

/** PostToConnection is quick when the socket exists; a slow one must not hold the request up for long. */
export const POST_TO_CONNECTION_TIMEOUT_MS = 2000;

/**
 * API Gateway's management API: `POST {callbackUrl}/@connections/{connectionId}` with the message as body,
 * signed for `execute-api` with the function's role (which the CDK app grants ManageConnections).
 * 410 Gone means the client went away without API Gateway telling us yet.
 */
export function apiGatewayTransport(callbackUrl: string, env = awsEnvironment()): ConnectionTransport {
  const base = callbackUrl.replace(/\/+$/, '');
  return {
    async send(connectionId, message) {
      const response = await sendSigned(awsTargetFromEnvironment(env), {
        service: 'execute-api',
        url: new URL(`${base}/@connections/${encodeURIComponent(connectionId)}`),
        headers: { 'Content-Type': 'application/json' },
        body: message,
        timeoutMs: POST_TO_CONNECTION_TIMEOUT_MS,
      });
      if (response.statusCode === 410) return 'gone';
      if (response.statusCode >= 200 && response.statusCode < 300) return 'sent';
      throw new Error(`PostToConnection answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
    },
  };
}

/**
 * API Gateway's `DELETE {callbackUrl}/@connections/{connectionId}`: closes a socket from the server side
 * (its client sees close code 1000; the management API takes no code).
 */
export async function closeApiGatewayConnection(
  callbackUrl: string,
  connectionId: string,
  env = awsEnvironment(),
): Promise<void> {
  const response = await sendSigned(awsTargetFromEnvironment(env), {
    service: 'execute-api',
    method: 'DELETE',
    url: new URL(`${callbackUrl.replace(/\/+$/, '')}/@connections/${encodeURIComponent(connectionId)}`),
    body: '',
    timeoutMs: POST_TO_CONNECTION_TIMEOUT_MS,
  });
  if (response.statusCode !== 410 && (response.statusCode < 200 || response.statusCode >= 300))
    throw new Error(`DeleteConnection answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
}

let localTransport: ConnectionTransport | undefined;
let awsTransport: { url: string; transport: ConnectionTransport } | undefined;

/** The local server holds its sockets itself and registers how to reach them (undefined to stop). */
export function setLocalRealtimeTransport(transport: ConnectionTransport | undefined): void {
  localTransport = transport;
}

function currentTransport(): ConnectionTransport | undefined {
  if (localTransport) return localTransport;
  const url = config().realtimeCallbackUrl;
  if (!url) return undefined;
  if (awsTransport?.url !== url) awsTransport = { url, transport: apiGatewayTransport(url) };
  return awsTransport.transport;
}

/** How long a message to a socket that is still opening is retried (API Gateway: until $connect returned). */
export const OPENING_SOCKET_WAIT_MS = 5000;

/**
 * Sends `events`, in order, to one socket. `callbackUrl` names the WebSocket API stage when the caller
 * knows it (the realtime function reads it from its event); else the configured one. A socket that is
 * still opening (API Gateway answers 410 until its `$connect` returned) is retried for `waitForOpenMs`.
 */
export async function sendToConnection(
  connectionId: string,
  events: RealtimeEvent[],
  options: { callbackUrl?: string; waitForOpenMs?: number } = {},
): Promise<'sent' | 'gone' | 'no_transport'> {
  const transport =
    localTransport ?? (options.callbackUrl ? apiGatewayTransport(options.callbackUrl) : currentTransport());
  if (!transport) return 'no_transport';
  const deadline = Date.now() + (options.waitForOpenMs ?? 0);
  for (const event of events) {
    for (let attempt = 0; ; attempt++) {
      const result = await transport.send(connectionId, JSON.stringify(event));
      if (result === 'sent') break;
      if (Date.now() >= deadline) return 'gone';
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
    }
  }
  countMetric('RealtimeEventsSent', events.length);
  return 'sent';
}

/**
 * Sends `event` to every open socket of the network. Never throws: the change it reports is already
 * committed, and a client that misses an event still finds the data through the REST API. Call it after
 * the transaction commits, and await it (a Lambda is frozen once it has answered).
 */
export async function publishToNetwork(db: Db, networkId: string, event: RealtimeEvent): Promise<void> {
  const transport = currentTransport();
  if (!transport) return;
  try {
    const connections = await listRealtimeConnections(db, networkId);
    if (connections.length === 0) return;
    const message = JSON.stringify(event);
    const results = await Promise.allSettled(
      connections.map((c) => transport.send(c.connection_id, message)),
    );
    let sent = 0;
    for (const [i, result] of results.entries()) {
      const connectionId = connections[i].connection_id;
      if (result.status === 'rejected') {
        logger.warn('realtime send failed', { connectionId, event: event.event, error: result.reason });
        countMetric('RealtimeSendFailures');
      } else if (result.value === 'gone') {
        await removeRealtimeConnection(db, connectionId);
      } else sent++;
    }
    if (sent) countMetric('RealtimeEventsSent', sent);
  } catch (error) {
    logger.warn('realtime publish failed', { networkId, event: event.event, error });
    countMetric('RealtimeSendFailures');
  }
}
