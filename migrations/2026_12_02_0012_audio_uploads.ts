import { type Kysely, sql } from 'kysely';

/**
 * `POST P/uploads`: a large recording goes straight to storage (a presigned S3 PUT in AWS, the local server's
 * PUT URL locally) instead of through the API's 6 MB synchronous payload, then is registered by its id.
 *
 * One row per upload the server handed out: for whom (network, client), what may be put (content type,
 * exact size) until when, under which storage key. `token_hash` is the SHA-256 of the local PUT URL's
 * secret (null in AWS, where S3 checks the signature); `received_at` is when the local PUT completed.
 * Registering it makes an utterance whose Idempotency-Key is `upload:<id>`, so an upload is registered once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE audio_uploads (
    id uuid PRIMARY KEY,
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    client_id text NOT NULL,
    audio_key text NOT NULL,
    content_type text NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes > 0),
    captured_at timestamptz,
    token_hash text,
    expires_at timestamptz NOT NULL,
    received_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
  await sql`CREATE INDEX audio_uploads_network_idx ON audio_uploads (network_id, created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS audio_uploads`.execute(db);
}
