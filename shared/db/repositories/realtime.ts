import { sql } from 'kysely';
import type { Db } from '../client';

type Executor = Pick<Db, 'selectFrom' | 'insertInto' | 'updateTable' | 'deleteFrom'>;

/** API Gateway closes every WebSocket after 2 hours; older rows are sockets whose close was never seen. */
export const REALTIME_CONNECTION_MAX_AGE_HOURS = 2;

export interface NewRealtimeConnection {
  connectionId: string;
  networkId: string;
  clientId: string;
  userId?: string;
  apiKeyId?: string;
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
    })
    .onConflict((oc) =>
      oc.column('connection_id').doUpdateSet({
        network_id: connection.networkId,
        client_id: connection.clientId,
        user_id: connection.userId ?? null,
        api_key_id: connection.apiKeyId ?? null,
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

export const listRealtimeConnections = (db: Executor, networkId: string) =>
  db
    .selectFrom('realtime_connections')
    .select(['connection_id', 'client_id'])
    .where('network_id', '=', networkId)
    .orderBy('connected_at')
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
