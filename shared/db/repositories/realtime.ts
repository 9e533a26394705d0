import type { Executor } from '../transaction';
import { sql } from 'kysely';

/** API Gateway closes every WebSocket after 2 hours; older rows are sockets whose close was never seen. */
export const REALTIME_CONNECTION_MAX_AGE_HOURS = 2;

export interface NewRealtimeConnection {
  connectionId: string;
  networkId: string;
  clientId: string;
  userId?: string;
  apiKeyId?: string;
  /** The session its `session_token` names. */
  sessionId?: string;
}

export const addRealtimeConnection = (db: Executor, connection: NewRealtimeConnection) =>
  db
    .insertInto('realtime_connections')
    .values({
      connection_id: connection.connectionId,
      network_id: connection.networkId,
      client_id: connection.clientId,
      user_id: connection.userId ?? null,
      api_key_id: connection.apiKeyId ?? null,
      session_id: connection.sessionId ?? null,
    })
    .onConflict((oc) =>
      oc.column('connection_id').doUpdateSet({
        network_id: connection.networkId,
        client_id: connection.clientId,
        user_id: connection.userId ?? null,
        api_key_id: connection.apiKeyId ?? null,
        session_id: connection.sessionId ?? null,
        connected_at: sql`now()`,
        last_seen_at: sql`now()`,
      }),
    )
    .execute();

export const removeRealtimeConnection = (db: Executor, connectionId: string) =>
  db.deleteFrom('realtime_connections').where('connection_id', '=', connectionId).execute();

export const touchRealtimeConnection = (db: Executor, connectionId: string) =>
  db
    .updateTable('realtime_connections')
    .set({ last_seen_at: sql`now()` })
    .where('connection_id', '=', connectionId)
    .execute();

/**
 * The network's sockets whose opener may still read it: a member who is still a member and active, or an
 * API key that is not revoked. A socket outlives the check made when it opened (up to 2 hours), so removing
 * a member or revoking a key stops their events here, at once.
 */
export const listRealtimeConnections = (db: Executor, networkId: string) =>
  db
    .selectFrom('realtime_connections as c')
    .leftJoin('network_members as m', (join) =>
      join.onRef('m.network_id', '=', 'c.network_id').onRef('m.user_id', '=', 'c.user_id'),
    )
    .leftJoin('users as u', (join) => join.onRef('u.id', '=', 'm.user_id').on('u.is_active', '=', true))
    .leftJoin('network_api_keys as k', (join) =>
      join
        .onRef('k.id', '=', 'c.api_key_id')
        .onRef('k.network_id', '=', 'c.network_id')
        .on('k.revoked_at', 'is', null),
    )
    .select(['c.connection_id', 'c.client_id'])
    .where('c.network_id', '=', networkId)
    .where((eb) => eb.or([eb('u.id', 'is not', null), eb('k.id', 'is not', null)]))
    .orderBy('c.connected_at')
    .execute();

export const pruneRealtimeConnections = (db: Executor) =>
  db
    .deleteFrom('realtime_connections')
    .where(
      'connected_at',
      '<',
      sql<Date>`now() - make_interval(hours => ${REALTIME_CONNECTION_MAX_AGE_HOURS})`,
    )
    .execute();

/** The open session `sessionId` (its socket's row), or undefined once the socket closed or was pruned. */
export const findRealtimeSession = (db: Executor, sessionId: string) =>
  db
    .selectFrom('realtime_connections')
    .select(['connection_id', 'network_id', 'client_id', 'user_id', 'api_key_id'])
    .where('session_id', '=', sessionId)
    .where(
      'connected_at',
      '>=',
      sql<Date>`now() - make_interval(hours => ${REALTIME_CONNECTION_MAX_AGE_HOURS})`,
    )
    .executeTakeFirst();
