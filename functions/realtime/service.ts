import { randomUUID } from 'node:crypto';
import { signSessionToken } from '../../shared/auth/tokens';
import { config } from '../../shared/config';
import type { Db } from '../../shared/db/client';
import { attachSocketClient, findNetwork } from '../../shared/db/repositories/networks';
import { addRealtimeConnection, pruneRealtimeConnections } from '../../shared/db/repositories/realtime';
import { networkNotFound } from '../../shared/errors';
import type { RealtimeEvent } from '../../shared/realtime/publisher';

export interface OpenSessionInput {
  connectionId: string;
  /** The name the client asked for (`?client_id=`). */
  clientId: string;
  networkId: string;
  userId?: string;
  apiKeyId?: string;
}

/**
 * A socket opens a session (API.md, "Realtime socket"): its `client_id` becomes a client of the network
 * (created, re-attached when it is already this user's, or a free `<name>-2`...), the connection is
 * recorded under a new session id, and the two greeting events are returned: `session_ready` (with the
 * short-lived `session_token` bound to user, network, client and session) then `service_status`.
 */
export async function openSession(db: Db, input: OpenSessionInput): Promise<RealtimeEvent[]> {
  const network = await findNetwork(db, input.networkId);
  if (!network) throw networkNotFound();
  await pruneRealtimeConnections(db);
  const client = await attachSocketClient(db, input.networkId, input.clientId, input.userId);
  const sessionId = randomUUID();
  await addRealtimeConnection(db, {
    connectionId: input.connectionId,
    networkId: input.networkId,
    clientId: client.client_id,
    userId: input.userId,
    apiKeyId: input.apiKeyId,
    sessionId,
  });
  const ttl = config().realtimeSessionSeconds;
  const sessionToken = await signSessionToken(
    {
      sessionId,
      networkId: input.networkId,
      clientId: client.client_id,
      userId: input.userId,
      apiKeyId: input.apiKeyId,
    },
    ttl,
  );
  return [
    {
      event: 'session_ready',
      session_id: sessionId,
      session_token: sessionToken,
      client_id: client.client_id,
      expires_in_seconds: ttl,
    },
    { event: 'service_status', enabled: network.service_enabled },
  ];
}
