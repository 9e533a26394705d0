import { sql } from 'kysely';
import type { Executor } from '../transaction';
import type { VectorPath } from '../vector';

/** What an embedding belongs to. */
export type EmbeddedKind = 'interaction' | 'conversation' | 'memory';

export interface PendingText {
  kind: EmbeddedKind;
  id: string;
  networkId: string;
  text: string;
  hash: string;
}

const conversationText = sql<string>`concat_ws('. ', c.title, c.topic_summary, c.context_summary)`;

/**
 * Stored texts without an embedding of their current content (new rows, and summaries or memories
 * rewritten since), across networks, at most `limit` of each kind. Resumable by construction: a text that
 * got its embedding is no longer pending.
 */
export async function pendingTexts(db: Executor, limit: number): Promise<PendingText[]> {
  const interactions = await db
    .selectFrom('interactions as i')
    .leftJoin('embeddings as e', 'e.interaction_id', 'i.id')
    .select(['i.id', 'i.network_id', 'i.text', sql<string>`md5(i.text)`.as('hash')])
    .where(sql<boolean>`btrim(i.text) <> ''`)
    .where((eb) => eb.or([eb('e.id', 'is', null), eb('e.content_hash', '<>', sql<string>`md5(i.text)`)]))
    .limit(limit)
    .execute();
  const conversations = await db
    .selectFrom('conversations as c')
    .leftJoin('embeddings as e', 'e.conversation_id', 'c.id')
    .select([
      'c.id',
      'c.network_id',
      conversationText.as('text'),
      sql<string>`md5(${conversationText})`.as('hash'),
    ])
    .where('c.context_summary', 'is not', null)
    .where((eb) =>
      eb.or([eb('e.id', 'is', null), eb('e.content_hash', '<>', sql<string>`md5(${conversationText})`)]),
    )
    .limit(limit)
    .execute();
  const memories = await db
    .selectFrom('episodic_memories as m')
    .leftJoin('embeddings as e', 'e.memory_id', 'm.id')
    .select([
      'm.id',
      'm.network_id',
      'm.canonical_text as text',
      sql<string>`md5(m.canonical_text)`.as('hash'),
    ])
    .where((eb) =>
      eb.or([eb('e.id', 'is', null), eb('e.content_hash', '<>', sql<string>`md5(m.canonical_text)`)]),
    )
    .limit(limit)
    .execute();
  const of = (kind: EmbeddedKind) => (r: { id: string; network_id: string; text: string; hash: string }) => ({
    kind,
    id: r.id,
    networkId: r.network_id,
    text: r.text,
    hash: r.hash,
  });
  return [
    ...interactions.map(of('interaction')),
    ...conversations.map(of('conversation')),
    ...memories.map(of('memory')),
  ];
}

const ownerColumn = {
  interaction: 'interaction_id',
  conversation: 'conversation_id',
  memory: 'memory_id',
} as const;

/** Stores (or replaces) one text's embedding; the pgvector column too where the database has it. */
export async function saveEmbedding(
  db: Executor,
  input: { text: PendingText; model: string; bytes: Buffer; literal: string; path: VectorPath },
): Promise<void> {
  const column = ownerColumn[input.text.kind];
  const vector = input.path === 'pgvector' ? sql`, embedding_vector = ${input.literal}::vector` : sql``;
  const vectorInsert = input.path === 'pgvector' ? sql`, embedding_vector` : sql``;
  const vectorValue = input.path === 'pgvector' ? sql`, ${input.literal}::vector` : sql``;
  // Raw SQL: the vector type is unknown to the typed schema (it exists on one path only).
  await sql`INSERT INTO embeddings (network_id, ${sql.ref(column)}, content_hash, model, embedding${vectorInsert})
    VALUES (${input.text.networkId}, ${input.text.id}, ${input.text.hash}, ${input.model}, ${input.bytes}${vectorValue})
    ON CONFLICT (${sql.ref(column)}) DO UPDATE SET content_hash = excluded.content_hash, model = excluded.model,
      embedding = excluded.embedding, created_at = now()${vector}`.execute(db);
}

const kindOf = (row: {
  interaction_id: string | null;
  conversation_id: string | null;
  memory_id: string | null;
}) =>
  row.interaction_id
    ? { kind: 'interaction' as const, id: row.interaction_id }
    : row.conversation_id
      ? { kind: 'conversation' as const, id: row.conversation_id }
      : { kind: 'memory' as const, id: row.memory_id! };

/** pgvector: the nearest embeddings of the network by cosine distance, through the HNSW index. */
export async function nearestByVector(db: Executor, networkId: string, literal: string, limit: number) {
  const rows = await sql<{
    interaction_id: string | null;
    conversation_id: string | null;
    memory_id: string | null;
    score: number;
  }>`SELECT interaction_id, conversation_id, memory_id, 1 - (embedding_vector <=> ${literal}::vector) AS score
    FROM embeddings WHERE network_id = ${networkId} AND embedding_vector IS NOT NULL
    ORDER BY embedding_vector <=> ${literal}::vector LIMIT ${limit}`.execute(db);
  return rows.rows.map((r) => ({ ...kindOf(r), score: Number(r.score) }));
}

/** The exact path: the network's newest `window` embeddings, as stored bytes, compared by the caller. */
export const embeddingsOfNetwork = (db: Executor, networkId: string, window: number) =>
  db
    .selectFrom('embeddings')
    .select(['id', 'interaction_id', 'conversation_id', 'memory_id', 'embedding'])
    .where('network_id', '=', networkId)
    .orderBy('id', 'desc')
    .limit(window)
    .execute()
    .then((rows) => rows.map((r) => ({ ...kindOf(r), rowId: Number(r.id), embedding: r.embedding })));

/** When the network's latest embedding was stored (microsecond text), undefined without any. */
export const latestEmbeddingStamp = async (db: Executor, networkId: string) =>
  (
    await db
      .selectFrom('embeddings')
      .select(
        sql<string | null>`to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
          'stamp',
        ),
      )
      .where('network_id', '=', networkId)
      .executeTakeFirst()
  )?.stamp ?? undefined;

export interface TextHit {
  kind: EmbeddedKind;
  id: string;
  rank: number;
  snippet: string;
}

/** Full-text matches of interactions ranked per search, at most (the newest). */
export const RANKED_MATCHES = 500;

/** PostgreSQL full-text search over the three kinds (their GIN indexes), best first per kind. */
export async function fullTextHits(
  db: Executor,
  networkId: string,
  query: string,
  limit: number,
): Promise<TextHit[]> {
  const q = sql`plainto_tsquery('simple', ${query})`;
  const headline = (text: unknown) =>
    sql<string>`ts_headline('simple', ${text}, ${q}, 'StartSel=**, StopSel=**, MaxWords=30, MinWords=10')`;
  // Ranked among the newest RANKED_MATCHES matches only: a common word matches most of a long history, and
  // ranking recomputes each match's tsvector (100k matches took a second); recent words are what is
  // searched for, and the semantic side still reaches older ones.
  const interactions = await sql<{ id: string; rank: number; snippet: string }>`
    SELECT id, ts_rank(to_tsvector('simple', text), ${q}) AS rank, ${headline(sql.ref('text'))} AS snippet
    FROM (SELECT id, text, timestamp FROM interactions
          WHERE network_id = ${networkId} AND to_tsvector('simple', text) @@ ${q}
          ORDER BY timestamp DESC LIMIT ${RANKED_MATCHES}) AS recent
    ORDER BY rank DESC, timestamp DESC LIMIT ${limit}`.execute(db);
  const summaryText = sql`coalesce(title, '') || ' ' || coalesce(topic_summary, '') || ' ' || coalesce(context_summary, '')`;
  const conversations = await sql<{ id: string; rank: number; snippet: string }>`
    SELECT id, ts_rank(to_tsvector('simple', ${summaryText}), ${q}) AS rank, ${headline(summaryText)} AS snippet
    FROM conversations WHERE network_id = ${networkId} AND to_tsvector('simple', ${summaryText}) @@ ${q}
    ORDER BY rank DESC LIMIT ${limit}`.execute(db);
  const memories = await sql<{ id: string; rank: number; snippet: string }>`
    SELECT id, ts_rank(to_tsvector('simple', canonical_text), ${q}) AS rank,
      ${headline(sql.ref('canonical_text'))} AS snippet
    FROM episodic_memories WHERE network_id = ${networkId} AND to_tsvector('simple', canonical_text) @@ ${q}
    ORDER BY rank DESC LIMIT ${limit}`.execute(db);
  const of = (kind: EmbeddedKind) => (r: { id: string; rank: number; snippet: string }) => ({
    kind,
    id: r.id,
    rank: Number(r.rank),
    snippet: r.snippet,
  });
  return [
    ...interactions.rows.map(of('interaction')),
    ...conversations.rows.map(of('conversation')),
    ...memories.rows.map(of('memory')),
  ].sort((a, b) => b.rank - a.rank);
}

/** The searchable text of each hit, for a snippet where full-text search gave none. */
export async function textsOf(db: Executor, networkId: string, hits: { kind: EmbeddedKind; id: string }[]) {
  const ids = (kind: EmbeddedKind) => hits.filter((h) => h.kind === kind).map((h) => h.id);
  const texts = new Map<string, { text: string; at: Date; conversationId: string | null }>();
  if (ids('interaction').length)
    for (const r of await db
      .selectFrom('interactions')
      .select(['id', 'text', 'timestamp', 'conversation_id'])
      .where('network_id', '=', networkId)
      .where('id', 'in', ids('interaction'))
      .execute())
      texts.set(r.id, { text: r.text, at: new Date(r.timestamp), conversationId: r.conversation_id });
  if (ids('conversation').length)
    for (const r of await db
      .selectFrom('conversations as c')
      .select(['c.id', conversationText.as('text'), 'c.started_at'])
      .where('c.network_id', '=', networkId)
      .where('c.id', 'in', ids('conversation'))
      .execute())
      texts.set(r.id, { text: r.text, at: new Date(r.started_at), conversationId: r.id });
  if (ids('memory').length)
    for (const r of await db
      .selectFrom('episodic_memories')
      .select(['id', 'canonical_text', 'created_at', 'source_conversation_id'])
      .where('network_id', '=', networkId)
      .where('id', 'in', ids('memory'))
      .execute())
      texts.set(r.id, {
        text: r.canonical_text,
        at: new Date(r.created_at),
        conversationId: r.source_conversation_id,
      });
  return texts;
}

/**
 * The exact path's cache refresh: the network's embeddings stored or replaced from `since` on (the
 * microsecond text of the last one seen; from the start without it), oldest first, at most `limit`
 * (the index of migration 0022 serves it).
 */
export const embeddingsChangedSince = (
  db: Executor,
  networkId: string,
  since: string | undefined,
  limit: number,
) => {
  let query = db
    .selectFrom('embeddings')
    .select([
      'id',
      'interaction_id',
      'conversation_id',
      'memory_id',
      'embedding',
      sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('stamp'),
    ])
    .where('network_id', '=', networkId);
  // Inclusive: a row stored in the same microsecond as the last one seen is not missed (rows are keyed).
  if (since) query = query.where('created_at', '>=', sql<Date>`${since}::timestamptz`);
  return query
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute()
    .then((rows) =>
      rows.map((r) => ({ ...kindOf(r), rowId: Number(r.id), embedding: r.embedding, stamp: r.stamp })),
    );
};
