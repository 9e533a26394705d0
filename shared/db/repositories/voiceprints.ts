import { sql } from 'kysely';
import type { Voiceprint } from '../../domain/speaker-match';
import type { Executor } from '../transaction';

/**
 * Speaker embeddings for matching: several per person (and per provisional cluster), stored as float32
 * bytes, so reading a network's embeddings costs one query and a memcpy, not parsing `real[]` text. The raw
 * embeddings never leave the server; these functions serve the pipeline only. Every writer holds the
 * network's `personIndex` advisory lock, so the version counter (bumped by a trigger) changes only under it.
 */

/** One stored embedding, unit length. */
export interface StoredEmbedding {
  id: string;
  personId: string | null;
  clusterId: string | null;
  source: 'enrolment' | 'match' | 'cluster' | 'legacy';
  embedding: Float32Array;
  /** AS-norm statistics against the model's cohort; std 0 when not computed yet (legacy rows). */
  cohortMean: number;
  cohortStd: number;
  voicedSeconds: number;
  /** Median F0 (Hz) of the speech it came from; null when not measured. */
  pitchHz: number | null;
  createdAt: Date;
}

export interface StoredCluster {
  id: string;
  utteranceCount: number;
  voicedSeconds: number;
  updatedAt: Date;
}

/** Little-endian float32 bytes of a vector (every platform Node runs on here is little-endian). */
export const embeddingBytes = (v: ArrayLike<number>): Buffer => {
  const f = Float32Array.from(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
};

/** The vector of stored bytes: node-postgres gives a Buffer, PGlite a Uint8Array; copied for alignment. */
export const embeddingFromBytes = (bytes: Uint8Array): Float32Array =>
  new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.byteLength & ~3)));

/** The network's speaker version: changes whenever one of its embeddings does. */
export async function speakerVersion(db: Executor, networkId: string): Promise<number> {
  const row = await db
    .selectFrom('speaker_versions')
    .select('version')
    .where('network_id', '=', networkId)
    .executeTakeFirst();
  return row ? Number(row.version) : 0;
}

/** Every embedding of the network (persons' and open clusters') and its open clusters, in one read each. */
export async function loadSpeakerEmbeddings(
  db: Executor,
  networkId: string,
): Promise<{ embeddings: StoredEmbedding[]; clusters: StoredCluster[] }> {
  const [rows, clusters] = await Promise.all([
    db
      .selectFrom('speaker_embeddings')
      .select([
        'id',
        'person_id',
        'cluster_id',
        'source',
        'embedding',
        'cohort_mean',
        'cohort_std',
        'voiced_seconds',
        'pitch_hz',
        'created_at',
      ])
      .where('network_id', '=', networkId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('speaker_clusters')
      .select(['id', 'utterance_count', 'voiced_seconds', 'updated_at'])
      .where('network_id', '=', networkId)
      .where('merged_into', 'is', null)
      .where('person_id', 'is', null)
      .execute(),
  ]);
  return {
    embeddings: rows.map((r) => ({
      id: r.id,
      personId: r.person_id,
      clusterId: r.cluster_id,
      source: r.source,
      embedding: embeddingFromBytes(r.embedding),
      cohortMean: Number(r.cohort_mean),
      cohortStd: Number(r.cohort_std),
      voicedSeconds: Number(r.voiced_seconds),
      pitchHz: r.pitch_hz === null ? null : Number(r.pitch_hz),
      createdAt: new Date(r.created_at),
    })),
    clusters: clusters.map((c) => ({
      id: c.id,
      utteranceCount: c.utterance_count,
      voicedSeconds: Number(c.voiced_seconds),
      updatedAt: new Date(c.updated_at),
    })),
  };
}

export interface NewEmbedding {
  networkId: string;
  personId?: string;
  clusterId?: string;
  source: StoredEmbedding['source'];
  embedding: ArrayLike<number>;
  cohortMean: number;
  cohortStd: number;
  voicedSeconds: number;
  pitchHz?: number | null;
}

export async function insertSpeakerEmbedding(db: Executor, e: NewEmbedding): Promise<StoredEmbedding> {
  const row = await db
    .insertInto('speaker_embeddings')
    .values({
      network_id: e.networkId,
      person_id: e.personId ?? null,
      cluster_id: e.clusterId ?? null,
      source: e.source,
      embedding: embeddingBytes(e.embedding),
      cohort_mean: e.cohortMean,
      cohort_std: e.cohortStd,
      voiced_seconds: e.voicedSeconds,
      pitch_hz: e.pitchHz ?? null,
    })
    .returning(['id', 'created_at'])
    .executeTakeFirstOrThrow();
  return {
    id: row.id,
    personId: e.personId ?? null,
    clusterId: e.clusterId ?? null,
    source: e.source,
    embedding: Float32Array.from(e.embedding),
    cohortMean: e.cohortMean,
    cohortStd: e.cohortStd,
    voicedSeconds: e.voicedSeconds,
    pitchHz: e.pitchHz ?? null,
    createdAt: new Date(row.created_at),
  };
}

/** Stores the cohort statistics of rows that had none (legacy voiceprints), computed by the caller. */
export async function saveCohortStats(db: Executor, id: string, mean: number, std: number): Promise<void> {
  await db
    .updateTable('speaker_embeddings')
    .set({ cohort_mean: mean, cohort_std: std })
    .where('id', '=', id)
    .execute();
}

/** Deletes embeddings by id (the pruned ones). */
export async function deleteSpeakerEmbeddings(db: Executor, ids: string[]): Promise<void> {
  if (ids.length) await db.deleteFrom('speaker_embeddings').where('id', 'in', ids).execute();
}

export async function createCluster(db: Executor, networkId: string): Promise<string> {
  const { id } = await db
    .insertInto('speaker_clusters')
    .values({ network_id: networkId })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

/** One more confident utterance in a cluster. */
export async function growCluster(db: Executor, clusterId: string, voicedSeconds: number): Promise<void> {
  await db
    .updateTable('speaker_clusters')
    .set((eb) => ({
      utterance_count: eb('utterance_count', '+', 1),
      voiced_seconds: eb('voiced_seconds', '+', voicedSeconds),
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', clusterId)
    .execute();
}

/** Folds cluster `from` into `into`: its embeddings, counts and (through merged_into) its utterances. */
export async function mergeCluster(db: Executor, from: string, into: string): Promise<void> {
  const source = await db
    .selectFrom('speaker_clusters')
    .select(['utterance_count', 'voiced_seconds'])
    .where('id', '=', from)
    .executeTakeFirst();
  if (!source) return;
  await db
    .updateTable('speaker_embeddings')
    .set({ cluster_id: into })
    .where('cluster_id', '=', from)
    .execute();
  await db
    .updateTable('speaker_clusters')
    .set((eb) => ({
      utterance_count: eb('utterance_count', '+', source.utterance_count),
      voiced_seconds: eb('voiced_seconds', '+', Number(source.voiced_seconds)),
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', into)
    .execute();
  await db
    .updateTable('speaker_clusters')
    .set({ merged_into: into })
    .where('merged_into', '=', from)
    .execute();
  await db.updateTable('speaker_clusters').set({ merged_into: into }).where('id', '=', from).execute();
}

/**
 * A cluster becomes a person: its embeddings are the person's, and the utterances it (or a cluster merged
 * into it) was given, still unattributed, are the person's, with the person joining their conversations.
 * Returns how many earlier utterances were attributed.
 */
export async function promoteCluster(
  db: Executor,
  networkId: string,
  clusterId: string,
  personId: string,
): Promise<number> {
  const merged = await db
    .selectFrom('speaker_clusters')
    .select('id')
    .where('network_id', '=', networkId)
    .where((eb) => eb.or([eb('id', '=', clusterId), eb('merged_into', '=', clusterId)]))
    .execute();
  const ids = merged.map((m) => m.id);
  await db
    .updateTable('speaker_embeddings')
    .set({ person_id: personId, cluster_id: null })
    .where('cluster_id', '=', clusterId)
    .execute();
  await db.updateTable('speaker_clusters').set({ person_id: personId }).where('id', 'in', ids).execute();
  const attributed = await db
    .updateTable('interactions')
    .set({ person_id: personId })
    .where('network_id', '=', networkId)
    .where('person_id', 'is', null)
    .where(sql<string>`metadata -> 'speaker' ->> 'cluster_id'`, 'in', ids)
    .returning('conversation_id')
    .execute();
  const conversations = [
    ...new Set(attributed.map((a) => a.conversation_id).filter((c): c is string => !!c)),
  ];
  if (conversations.length)
    await db
      .insertInto('conversation_participants')
      .values(conversations.map((conversation_id) => ({ conversation_id, person_id: personId })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  return attributed.length;
}

/** Deletes clusters (and, by cascade, their embeddings and the clusters merged into them). */
export async function deleteClusters(db: Executor, ids: string[]): Promise<void> {
  if (ids.length) await db.deleteFrom('speaker_clusters').where('id', 'in', ids).execute();
}

/** Clusters with a single utterance untouched for `days`: voices heard once, long ago. */
export async function pruneStaleClusters(db: Executor, networkId: string, days: number): Promise<number> {
  const result = await db
    .deleteFrom('speaker_clusters')
    .where('network_id', '=', networkId)
    .where('person_id', 'is', null)
    .where('merged_into', 'is', null)
    .where('utterance_count', '<=', 1)
    .where('updated_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export interface MergeProposal {
  personA: string;
  personB: string;
  score: number;
  createdAt: Date;
}

/** Records (or refreshes) a proposal that two persons are one voice; the pair is stored in id order. */
export async function proposeMerge(db: Executor, networkId: string, a: string, b: string, score: number) {
  const [personA, personB] = a < b ? [a, b] : [b, a];
  await db
    .insertInto('speaker_merge_proposals')
    .values({ network_id: networkId, person_a: personA, person_b: personB, score })
    .onConflict((oc) => oc.columns(['network_id', 'person_a', 'person_b']).doUpdateSet({ score }))
    .execute();
}

export async function listMergeProposals(db: Executor, networkId: string): Promise<MergeProposal[]> {
  const rows = await db
    .selectFrom('speaker_merge_proposals')
    .select(['person_a', 'person_b', 'score', 'created_at'])
    .where('network_id', '=', networkId)
    .orderBy('score', 'desc')
    .execute();
  return rows.map((r) => ({
    personA: r.person_a,
    personB: r.person_b,
    score: Number(r.score),
    createdAt: new Date(r.created_at),
  }));
}

/**
 * The network's persons that have a running-mean voiceprint (`persons.voice_embedding real[]`), by index:
 * the storage before migration 0030, parsed from text on every read. Kept for the bench's before/after.
 */
export async function listVoiceprints(db: Executor, networkId: string): Promise<Voiceprint[]> {
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'index', 'voice_embedding', 'voice_sample_count'])
    .where('network_id', '=', networkId)
    .where('voice_embedding', 'is not', null)
    .orderBy('index')
    .execute();
  return rows.map((row) => ({
    personId: row.id,
    index: row.index,
    // real[] comes back as numbers from node-postgres and PGlite alike; Number() guards a string driver.
    embedding: row.voice_embedding!.map(Number),
    sampleCount: row.voice_sample_count,
  }));
}

/** Sets a person's running-mean voiceprint summary (what `has_voice_embedding` shows) and sample count. */
export async function saveVoiceprint(
  db: Executor,
  networkId: string,
  personId: string,
  voiceprint: { embedding: number[]; sampleCount: number; name?: string },
): Promise<void> {
  await db
    .updateTable('persons')
    .set({
      voice_embedding: voiceprint.embedding,
      voice_sample_count: voiceprint.sampleCount,
      ...(voiceprint.name ? { name: voiceprint.name } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where('network_id', '=', networkId)
    .where('id', '=', personId)
    .execute();
}

/**
 * Persons of a network whose every stored embedding has another size than `dim` (made by another speaker
 * model): they match nothing until they enrol again.
 */
export async function personsWithOtherModelEmbeddings(db: Executor, networkId: string, dim: number) {
  const rows = await db
    .selectFrom('speaker_embeddings')
    .select('person_id')
    .where('network_id', '=', networkId)
    .where('person_id', 'is not', null)
    .groupBy('person_id')
    .having(sql<boolean>`bool_and(octet_length(embedding) <> ${dim * 4})`)
    .orderBy('person_id')
    .execute();
  return rows.map((r) => r.person_id!);
}
