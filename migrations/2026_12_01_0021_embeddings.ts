import { type Kysely, sql } from 'kysely';

/** Dimensions of every stored embedding (Gemini's `outputDimensionality`); a change needs a re-embed. */
const DIMENSIONS = 768;

/**
 * One embedding per stored text (an interaction, a conversation's summaries, a memory), deleted with it
 * through its foreign key. The vector is always kept as float32 bytes, which every PostgreSQL can store and
 * the exact fallback reads; where the `vector` extension can be installed (RDS, PGlite with its vector
 * extension) it is also a pgvector column with an HNSW index. Servers without it (Debian's PostgreSQL 15)
 * skip that part: `shared/db/vector.ts` detects which path a database has.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE embeddings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    interaction_id uuid UNIQUE REFERENCES interactions(id) ON DELETE CASCADE,
    conversation_id uuid UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    memory_id uuid UNIQUE REFERENCES episodic_memories(id) ON DELETE CASCADE,
    content_hash text NOT NULL,
    model text NOT NULL,
    embedding bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(interaction_id, conversation_id, memory_id) = 1)
  )`.execute(db);
  await sql`CREATE INDEX embeddings_network_idx ON embeddings (network_id, id DESC)`.execute(db);
  const available = await sql<{
    name: string;
  }>`SELECT name FROM pg_available_extensions WHERE name = 'vector'`.execute(db);
  if (available.rows.length === 0) return;
  await sql`CREATE EXTENSION IF NOT EXISTS vector`.execute(db);
  await sql.raw(`ALTER TABLE embeddings ADD COLUMN embedding_vector vector(${DIMENSIONS})`).execute(db);
  await sql`CREATE INDEX embeddings_vector_idx ON embeddings USING hnsw (embedding_vector vector_cosine_ops)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS embeddings`.execute(db);
}
