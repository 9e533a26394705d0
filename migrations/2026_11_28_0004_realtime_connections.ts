import { type Kysely, sql } from 'kysely';

/**
 * Open realtime sockets. In AWS a socket is held by API Gateway, not by any Lambda, so whoever publishes an
 * event (the interactions or service function) finds the network's sockets here and posts to each through
 * API Gateway's management API; the local server keeps the sockets itself but records them the same way.
 * A row names who connected (a user, or a network API key) so a revoked credential's sockets can be found.
 * API Gateway closes a socket after 2 hours at most; rows it never reported closed are pruned on connect.
 */
const statements = [
  sql`CREATE TABLE realtime_connections (
    connection_id text PRIMARY KEY,
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    user_id uuid REFERENCES users(id) ON DELETE CASCADE,
    api_key_id uuid REFERENCES network_api_keys(id) ON DELETE CASCADE,
    client_id text NOT NULL,
    connected_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX realtime_connections_network_idx ON realtime_connections (network_id)`,
  sql`CREATE INDEX realtime_connections_connected_idx ON realtime_connections (connected_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS realtime_connections`.execute(db);
}
