import { type Kysely, sql } from 'kysely';

/**
 * The whole model of ARCHITECTURE.md. Frozen once merged: later changes go in new migrations.
 * One statement per call because PGlite runs each query through the extended protocol.
 */
const statements = [
  sql`CREATE TABLE networks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    service_enabled boolean NOT NULL DEFAULT true,
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE TABLE network_clients (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    client_id text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    local_ip_address text,
    external_ip_address text,
    enabled boolean NOT NULL DEFAULT true,
    connected_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, client_id)
  )`,
  sql`CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    username text,
    password_hash text,
    is_active boolean NOT NULL DEFAULT true,
    email_verified boolean NOT NULL DEFAULT false,
    google_subject text UNIQUE,
    github_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`,
  sql`CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE username IS NOT NULL`,
  sql`CREATE TABLE network_members (
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (network_id, user_id)
  )`,
  sql`CREATE INDEX network_members_user_idx ON network_members (user_id)`,
  sql`CREATE TABLE network_api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
  )`,
  sql`CREATE INDEX network_api_keys_network_idx ON network_api_keys (network_id, created_at DESC)`,
  sql`CREATE TABLE refresh_tokens (
    jti uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)`,
  sql`CREATE TABLE login_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    throttle_key text NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX login_attempts_key_idx ON login_attempts (throttle_key, attempted_at DESC)`,
  sql`CREATE TABLE persons (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    index integer NOT NULL CHECK (index >= 1),
    voice_embedding real[],
    voice_sample_count integer NOT NULL DEFAULT 0,
    cluster_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, index)
  )`,
  sql`CREATE TABLE conversations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    title text,
    topic_summary text,
    context_summary text,
    topics jsonb NOT NULL DEFAULT '[]'::jsonb,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    last_interaction_at timestamptz NOT NULL DEFAULT now(),
    last_speaker_id uuid REFERENCES persons(id) ON DELETE SET NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX conversations_network_started_idx ON conversations (network_id, started_at DESC, id DESC)`,
  sql`CREATE TABLE conversation_participants (
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, person_id)
  )`,
  sql`CREATE INDEX conversation_participants_person_idx ON conversation_participants (person_id)`,
  sql`CREATE TABLE interactions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
    person_id uuid REFERENCES persons(id) ON DELETE SET NULL,
    client_id text,
    interaction_type text NOT NULL CHECK (interaction_type IN ('audio', 'text', 'system')),
    text text NOT NULL DEFAULT '',
    language text,
    timestamp timestamptz NOT NULL DEFAULT now(),
    sentiment real,
    entities jsonb NOT NULL DEFAULT '[]'::jsonb,
    topics jsonb NOT NULL DEFAULT '[]'::jsonb,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    voice_embedding real[],
    is_command boolean NOT NULL DEFAULT false,
    audio_score real,
    idempotency_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, idempotency_key)
  )`,
  sql`CREATE INDEX interactions_network_time_idx ON interactions (network_id, timestamp DESC, id DESC)`,
  sql`CREATE INDEX interactions_conversation_time_idx ON interactions (conversation_id, timestamp DESC)`,
  sql`CREATE INDEX interactions_person_time_idx ON interactions (person_id, timestamp DESC)`,
  sql`CREATE INDEX interactions_text_fts_idx ON interactions USING gin (to_tsvector('simple', text))`,
  sql`CREATE TABLE idempotency_records (
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    request_fingerprint text NOT NULL,
    status_code integer NOT NULL,
    response jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (network_id, idempotency_key)
  )`,
  sql`CREATE TABLE actions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    person_id uuid REFERENCES persons(id) ON DELETE SET NULL,
    interaction_id uuid REFERENCES interactions(id) ON DELETE CASCADE,
    conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
    action_type text NOT NULL CHECK (action_type IN ('remind', 'schedule', 'contact')),
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dismissed')),
    scheduled_time timestamptz,
    completed_time timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX actions_network_status_idx ON actions (network_id, status, created_at DESC)`,
  sql`CREATE INDEX actions_interaction_idx ON actions (interaction_id)`,
  sql`CREATE INDEX actions_conversation_idx ON actions (conversation_id)`,
  sql`CREATE TABLE stream_quality (
    network_id uuid NOT NULL,
    client_id text NOT NULL,
    snr real NOT NULL DEFAULT 0,
    speech_clarity real NOT NULL DEFAULT 0,
    volume_level real NOT NULL DEFAULT 0,
    noise_level real NOT NULL DEFAULT 0,
    speech_ratio real NOT NULL DEFAULT 0,
    location jsonb,
    rssi real,
    score real NOT NULL DEFAULT 0,
    sample_count integer NOT NULL DEFAULT 0,
    last_update timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (network_id, client_id),
    FOREIGN KEY (network_id, client_id) REFERENCES network_clients (network_id, client_id)
      ON DELETE CASCADE ON UPDATE CASCADE
  )`,
  sql`CREATE INDEX stream_quality_best_idx ON stream_quality (network_id, score DESC)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'stream_quality',
    'actions',
    'idempotency_records',
    'interactions',
    'conversation_participants',
    'conversations',
    'persons',
    'login_attempts',
    'refresh_tokens',
    'network_api_keys',
    'network_members',
    'users',
    'network_clients',
    'networks',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
}
