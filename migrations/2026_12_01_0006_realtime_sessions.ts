import { type Kysely, sql } from 'kysely';

/**
 * Generation-4 realtime sessions. Opening the socket registers its `client_id` in the network; a client
 * remembers the user who registered it, so the same device re-attaches to its name while another device
 * asking for a taken name gets a free one. Each socket is a session with an id that its short-lived
 * `session_token` names: a token whose session is closed is stale.
 */
const statements = [
  sql`ALTER TABLE network_clients ADD COLUMN user_id uuid REFERENCES users(id) ON DELETE SET NULL`,
  sql`ALTER TABLE realtime_connections ADD COLUMN session_id uuid`,
  sql`CREATE UNIQUE INDEX realtime_connections_session_idx ON realtime_connections (session_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS realtime_connections_session_idx`.execute(db);
  await sql`ALTER TABLE realtime_connections DROP COLUMN IF EXISTS session_id`.execute(db);
  await sql`ALTER TABLE network_clients DROP COLUMN IF EXISTS user_id`.execute(db);
}
