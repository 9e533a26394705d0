import { sql } from 'kysely';
import type { Executor } from './transaction';

/**
 * Which similarity path a database has: `pgvector` where the migration could install the extension (RDS,
 * PGlite with its vector extension) and added `embeddings.embedding_vector` with its HNSW index; `exact`
 * elsewhere (Debian's PostgreSQL 15 has no pgvector package), where the float32 bytes are compared exactly
 * (the small-scale path). Decided once per database handle.
 */
export type VectorPath = 'pgvector' | 'exact';

const known = new WeakMap<object, Promise<VectorPath>>();

export function vectorPath(db: Executor): Promise<VectorPath> {
  let path = known.get(db);
  if (!path) {
    path = sql<{ found: number }>`SELECT 1 AS found FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'embeddings' AND column_name = 'embedding_vector'`
      .execute(db)
      .then((r) => (r.rows.length ? 'pgvector' : 'exact'));
    // A failed check is asked again next time rather than remembered.
    path.catch(() => known.delete(db));
    known.set(db, path);
  }
  return path;
}
