import { type Kysely, sql } from 'kysely';

/**
 * Speaker decisions that do not drift and do not grow with history:
 * - `speaker_embeddings`: several embeddings per person (or per provisional cluster), each a little-endian
 *   float32 `bytea` (node-postgres hands bytea over as a Buffer: no text array to parse) with its AS-norm
 *   cohort statistics, computed once when it is stored;
 * - `speaker_clusters`: unknown voices waiting to become persons (and the clusters merged into them);
 * - `speaker_versions`: a per-network counter, bumped by a trigger on every change of the embeddings, so a
 *   server keeps the network's embeddings cached and reloads them only when they changed;
 * - `speaker_merge_proposals`: persons the re-clustering thinks are one voice (never merged silently).
 * The existing voiceprints (running means in persons.voice_embedding) are copied in as one embedding each.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE speaker_clusters (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    utterance_count integer NOT NULL DEFAULT 0,
    voiced_seconds real NOT NULL DEFAULT 0,
    merged_into uuid REFERENCES speaker_clusters(id) ON DELETE CASCADE,
    person_id uuid REFERENCES persons(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
  await sql`CREATE INDEX speaker_clusters_network_idx ON speaker_clusters (network_id, updated_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX speaker_clusters_merged_idx ON speaker_clusters (merged_into) WHERE merged_into IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE TABLE speaker_embeddings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    person_id uuid REFERENCES persons(id) ON DELETE CASCADE,
    cluster_id uuid REFERENCES speaker_clusters(id) ON DELETE CASCADE,
    source text NOT NULL CHECK (source IN ('enrolment', 'match', 'cluster', 'legacy')),
    embedding bytea NOT NULL,
    cohort_mean real NOT NULL DEFAULT 0,
    cohort_std real NOT NULL DEFAULT 0,
    voiced_seconds real NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((person_id IS NULL) <> (cluster_id IS NULL))
  )`.execute(db);
  await sql`CREATE INDEX speaker_embeddings_network_idx ON speaker_embeddings (network_id)`.execute(db);
  await sql`CREATE INDEX speaker_embeddings_person_idx ON speaker_embeddings (person_id, created_at)
    WHERE person_id IS NOT NULL`.execute(db);
  await sql`CREATE INDEX speaker_embeddings_cluster_idx ON speaker_embeddings (cluster_id)
    WHERE cluster_id IS NOT NULL`.execute(db);
  // No foreign key: the trigger also fires while a network's rows are deleted with it.
  await sql`CREATE TABLE speaker_versions (
    network_id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 0
  )`.execute(db);
  // A sequence, not a counter: a rolled-back transaction's values are never handed out again, so a cache
  // that saw an uncommitted version can never mistake a later state for it.
  await sql`CREATE SEQUENCE speaker_version_seq`.execute(db);
  await sql`CREATE FUNCTION bump_speaker_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO speaker_versions AS v (network_id, version)
        VALUES (COALESCE(NEW.network_id, OLD.network_id), nextval('speaker_version_seq'))
        ON CONFLICT (network_id) DO UPDATE SET version = EXCLUDED.version;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER speaker_embeddings_version AFTER INSERT OR UPDATE OR DELETE ON speaker_embeddings
    FOR EACH ROW EXECUTE FUNCTION bump_speaker_version()`.execute(db);
  await sql`CREATE TABLE speaker_merge_proposals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    person_a uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    person_b uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    score real NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, person_a, person_b),
    CHECK (person_a < person_b)
  )`.execute(db);
  // Back-attribution when a cluster becomes a person: the unattributed utterances that name the cluster.
  await sql`CREATE INDEX interactions_speaker_cluster_idx
    ON interactions (network_id, ((metadata -> 'speaker' ->> 'cluster_id')))
    WHERE person_id IS NULL`.execute(db);
  // The running means as little-endian float32 (float4send is big-endian: its four bytes reversed).
  await sql`INSERT INTO speaker_embeddings (network_id, person_id, source, embedding)
    SELECT p.network_id, p.id, 'legacy',
      (SELECT string_agg(substr(b, 4, 1) || substr(b, 3, 1) || substr(b, 2, 1) || substr(b, 1, 1), ''::bytea ORDER BY i)
         FROM unnest(p.voice_embedding) WITH ORDINALITY AS u(x, i), LATERAL (SELECT float4send(u.x) AS b) AS s)
    FROM persons p
    WHERE p.voice_embedding IS NOT NULL AND cardinality(p.voice_embedding) > 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS interactions_speaker_cluster_idx`.execute(db);
  await sql`DROP TABLE IF EXISTS speaker_merge_proposals`.execute(db);
  await sql`DROP TRIGGER IF EXISTS speaker_embeddings_version ON speaker_embeddings`.execute(db);
  await sql`DROP FUNCTION IF EXISTS bump_speaker_version()`.execute(db);
  await sql`DROP TABLE IF EXISTS speaker_versions`.execute(db);
  await sql`DROP SEQUENCE IF EXISTS speaker_version_seq`.execute(db);
  await sql`DROP TABLE IF EXISTS speaker_embeddings`.execute(db);
  await sql`DROP TABLE IF EXISTS speaker_clusters`.execute(db);
}
