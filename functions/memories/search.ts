import {
  bytesToVector,
  embeddingModel,
  embedTexts,
  isGeminiConfigured,
  vectorLiteral,
  vectorToBytes,
} from '../../shared/ai';
import type { Db } from '../../shared/db/client';
import {
  embeddingsChangedSince,
  embeddingsOfNetwork,
  fullTextHits,
  latestEmbeddingStamp,
  nearestByVector,
  pendingTexts,
  saveEmbedding,
  textsOf,
  type EmbeddedKind,
} from '../../shared/db/repositories/embeddings';
import { vectorPath } from '../../shared/db/vector';
import { countMetric, logger } from '../../shared/observability';

/**
 * Search and recall: full-text (PostgreSQL's, on the GIN indexes) and semantic (Gemini embeddings) results
 * over interactions, conversation summaries and memories, fused by reciprocal rank. The semantic part is
 * pgvector's HNSW index where the database has it, else an exact comparison of the network's newest
 * embeddings here (the small-scale path: same ranking, bounded by EXACT_WINDOW).
 */

/** Reciprocal-rank fusion constant (the usual 60: a rank's weight falls off gently). */
const RRF_K = 60;
/** Candidates taken from each side before fusion. */
const CANDIDATES = 50;
/** The exact path compares at most this many of a network's newest embeddings. */
export const EXACT_WINDOW = 5_000;
/** Semantic matches below this cosine are noise, not recall. */
const MIN_SIMILARITY = 0.35;

export interface SearchResult {
  type: EmbeddedKind;
  id: string;
  score: number;
  snippet: string;
  conversation_id: string | null;
  timestamp: string;
  matched_by: ('text' | 'meaning')[];
}

export interface SearchAnswer {
  query: string;
  /** `hybrid` with a query embedding; `full_text` when Gemini is not configured or did not answer. */
  mode: 'hybrid' | 'full_text';
  results: SearchResult[];
}

const snippetOf = (text: string): string => (text.length > 200 ? `${text.slice(0, 197)}...` : text);

// ---- the exact path's vectors, kept per network in this process ----

interface CachedVector {
  kind: EmbeddedKind;
  id: string;
  vector: Float32Array;
}

interface NetworkVectors {
  /** By embedding row id: a replaced text's new vector takes its old one's place. */
  rows: Map<number, CachedVector>;
  /** The microsecond stamp of the latest change read. */
  stamp: string | undefined;
  loadedAt: number;
}

/**
 * Reading a network's newest EXACT_WINDOW embeddings is 15 MB of float32 per search (about 200 ms on
 * PostgreSQL 15 at 5000): they are kept here and only what changed since is read (the index of migration
 * 0022). Deleted texts may linger until the next reload, which is harmless: a hit whose text is gone is
 * dropped by the search, and this process forgets a network it deleted from (forgetSearchVectors).
 * 3 MB per 1000 vectors: a few networks only, the least recently searched leaving first.
 */
const MAX_CACHED_NETWORKS = 8;
const RELOAD_AFTER_MS = 5 * 60_000;
const CHANGES_BATCH = 1000;
const vectorCache = new Map<string, NetworkVectors>();

/** Drops a network's cached vectors (after deletions in this process). */
export const forgetSearchVectors = (networkId: string) => vectorCache.delete(networkId);

async function newestVectors(db: Db, networkId: string): Promise<Iterable<CachedVector>> {
  let entry = vectorCache.get(networkId);
  vectorCache.delete(networkId);
  if (!entry || Date.now() - entry.loadedAt > RELOAD_AFTER_MS) {
    // The stamp first: a text stored while the window loads is read again next time, never missed.
    const stamp = await latestEmbeddingStamp(db, networkId);
    const rows = new Map<number, CachedVector>();
    for (const row of await embeddingsOfNetwork(db, networkId, EXACT_WINDOW))
      rows.set(row.rowId, { kind: row.kind, id: row.id, vector: bytesToVector(row.embedding) });
    entry = { rows, stamp, loadedAt: Date.now() };
  }
  vectorCache.set(networkId, entry);
  while (vectorCache.size > MAX_CACHED_NETWORKS) vectorCache.delete(vectorCache.keys().next().value!);
  for (;;) {
    const changed = await embeddingsChangedSince(db, networkId, entry.stamp, CHANGES_BATCH);
    for (const row of changed) {
      entry.rows.set(row.rowId, { kind: row.kind, id: row.id, vector: bytesToVector(row.embedding) });
      entry.stamp = row.stamp;
    }
    if (changed.length < CHANGES_BATCH) break;
  }
  if (entry.rows.size > EXACT_WINDOW) {
    const newest = [...entry.rows.keys()].sort((a, b) => b - a);
    for (const rowId of newest.slice(EXACT_WINDOW)) entry.rows.delete(rowId);
  }
  return entry.rows.values();
}

async function semanticHits(db: Db, networkId: string, query: string) {
  if (!isGeminiConfigured()) return undefined;
  let vector: Float32Array;
  try {
    [vector] = await embedTexts([query], 'RETRIEVAL_QUERY');
  } catch (error) {
    // Recall degrades to full-text instead of failing the search.
    countMetric('SearchEmbeddingFailures');
    logger.warn('query embedding failed', { error: String(error) });
    return undefined;
  }
  if ((await vectorPath(db)) === 'pgvector')
    return (await nearestByVector(db, networkId, vectorLiteral(vector), CANDIDATES)).filter(
      (h) => h.score >= MIN_SIMILARITY,
    );
  const scored = [...(await newestVectors(db, networkId))].map((row) => {
    const stored = row.vector;
    let dot = 0;
    for (let i = 0; i < stored.length; i++) dot += stored[i] * vector[i];
    return { kind: row.kind, id: row.id, score: dot };
  });
  return scored
    .filter((h) => h.score >= MIN_SIMILARITY)
    .sort((a, b) => b.score - a.score)
    .slice(0, CANDIDATES);
}

export async function search(db: Db, networkId: string, query: string, limit: number): Promise<SearchAnswer> {
  const [textual, semantic] = await Promise.all([
    fullTextHits(db, networkId, query, CANDIDATES),
    semanticHits(db, networkId, query),
  ]);
  const fused = new Map<
    string,
    { kind: EmbeddedKind; id: string; score: number; snippet?: string; by: Set<'text' | 'meaning'> }
  >();
  const add = (kind: EmbeddedKind, id: string, rank: number, by: 'text' | 'meaning', snippet?: string) => {
    const key = `${kind}:${id}`;
    const entry = fused.get(key) ?? { kind, id, score: 0, by: new Set() };
    entry.score += 1 / (RRF_K + rank);
    entry.by.add(by);
    entry.snippet ??= snippet;
    fused.set(key, entry);
  };
  textual.forEach((hit, rank) => add(hit.kind, hit.id, rank + 1, 'text', hit.snippet));
  semantic?.forEach((hit, rank) => add(hit.kind, hit.id, rank + 1, 'meaning'));
  const top = [...fused.values()].sort((a, b) => b.score - a.score).slice(0, limit);
  const texts = await textsOf(db, networkId, top);
  return {
    query,
    mode: semantic ? 'hybrid' : 'full_text',
    results: top
      .filter((hit) => texts.has(hit.id))
      .map((hit) => {
        const source = texts.get(hit.id)!;
        return {
          type: hit.kind,
          id: hit.id,
          score: Math.round(hit.score * 10_000) / 10_000,
          snippet: hit.snippet ?? snippetOf(source.text),
          conversation_id: source.conversationId,
          timestamp: source.at.toISOString(),
          matched_by: [...hit.by].sort(),
        };
      }),
  };
}

/**
 * Embeds stored texts that have no embedding of their current content yet (off the request path: the
 * sweep calls it, and `npm run backfill:embeddings` loops it). Returns how many it embedded.
 */
export async function embedPending(db: Db, batch = 100): Promise<number> {
  if (!isGeminiConfigured()) return 0;
  const pending = (await pendingTexts(db, batch)).slice(0, batch);
  if (pending.length === 0) return 0;
  const vectors = await embedTexts(
    pending.map((p) => p.text),
    'RETRIEVAL_DOCUMENT',
  );
  const path = await vectorPath(db);
  const model = embeddingModel();
  for (const [i, text] of pending.entries())
    await saveEmbedding(db, {
      text,
      model,
      bytes: vectorToBytes(vectors[i]),
      literal: vectorLiteral(vectors[i]),
      path,
    });
  countMetric('TextsEmbedded', pending.length);
  return pending.length;
}
