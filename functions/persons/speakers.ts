/**
 * Who spoke, decided open-set (issue 15) on embeddings that are cheap to read (issue 16):
 *
 *   quality gate -> AS-norm scores against every person and provisional cluster -> margin -> decision
 *   -> (clean, confident) one more enrolment embedding | a provisional cluster | a person from a cluster
 *
 * The network's embeddings are cached per process and reloaded only when the network's speaker version
 * (bumped by a trigger on every change) differs: an utterance costs one tiny query and one dot product
 * per stored embedding, not a parse of every person's `real[]`.
 */
import type { Transaction } from 'kysely';
import type { AudioAnalysis } from '../../shared/audio';
import { speakerModelCard } from '../../shared/audio/model-card';
import { SAMPLE_RATE } from '../../shared/audio/decode';
import { createPerson, findPerson } from '../../shared/db/repositories/persons';
import {
  createCluster,
  deleteClusters,
  deleteSpeakerEmbeddings,
  growCluster,
  insertSpeakerEmbedding,
  loadSpeakerEmbeddings,
  mergeCluster,
  promoteCluster,
  proposeMerge,
  pruneStaleClusters,
  saveCohortStats,
  saveVoiceprint,
  speakerVersion,
  type StoredEmbedding,
} from '../../shared/db/repositories/voiceprints';
import { advisoryLock, type Executor } from '../../shared/db/transaction';
import type { Database, JsonObject } from '../../shared/db/types';
import {
  decideSpeaker,
  measuredPitches,
  pitchGapBetween,
  qualityReasons,
  scoreCandidates,
  type CandidateScore,
  type QualityReason,
  type SpeakerCandidate,
  type SpeakerPolicy,
  type UtteranceEvidence,
} from '../../shared/domain/speaker-match';
import { cohortStats, dot, unit } from '../../shared/domain/speaker-score';
import { logger } from '../../shared/observability';

/** The network settings that override the model card's calibration (README "Speaker decisions"). */
export const SPEAKER_SETTINGS = {
  speaker_accept_score: 'acceptScore',
  speaker_degraded_accept_score: 'degradedAcceptScore',
  speaker_min_margin: 'minMargin',
  speaker_update_score: 'updateScore',
  speaker_cluster_score: 'clusterScore',
  speaker_merge_score: 'mergeScore',
  speaker_match_threshold: 'cosineFloor',
  speaker_min_voiced_seconds: 'minVoicedSeconds',
  speaker_min_snr_db: 'minSnrDb',
  speaker_max_clipping_ratio: 'maxClippingRatio',
  speaker_min_high_band_ratio: 'minHighBandRatio',
  speaker_max_pitch_semitones: 'maxPitchSemitones',
  speaker_enrol_min_voiced_seconds: 'enrolMinVoicedSeconds',
  speaker_new_person_seconds: 'newPersonSeconds',
  speaker_new_person_utterances: 'newPersonUtterances',
} as const satisfies Record<string, keyof SpeakerPolicy>;

/** The model card's calibration with the network's overrides (finite numbers only; a bad value is ignored). */
export function speakerPolicy(settings: JsonObject = {}): SpeakerPolicy {
  const policy: SpeakerPolicy = { ...speakerModelCard().calibration };
  for (const [key, field] of Object.entries(SPEAKER_SETTINGS)) {
    const raw = settings[key];
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() ? Number(raw) : NaN;
    if (!Number.isFinite(value)) continue;
    // The cosine floor keeps its old meaning and range (0..1) for the settings that already use it.
    if (field === 'cosineFloor' && !(value > 0 && value < 1)) continue;
    if (field === 'newPersonUtterances') policy[field] = Math.max(2, Math.round(value));
    else policy[field] = value;
  }
  return policy;
}

/** The speaker-relevant facts of an analysed utterance. */
export function speakerEvidence(analysis: AudioAnalysis): UtteranceEvidence {
  const voicedSeconds = analysis.vad.segments.reduce((sum, s) => sum + (s.endS - s.startS), 0);
  return {
    embedding: analysis.embedding,
    voicedSeconds: Math.min(voicedSeconds, analysis.samples.length / SAMPLE_RATE),
    snrDb: analysis.quality.snrDb,
    clippingRatio: analysis.quality.clippingRatio,
    highBandRatio: analysis.quality.highBandRatio,
    pitchHz: analysis.pitchHz,
  };
}

// ---- the per-network cache ----

interface Candidate extends SpeakerCandidate {
  rows: StoredEmbedding[];
}

interface ClusterState extends Candidate {
  utteranceCount: number;
  voicedSeconds: number;
}

interface NetworkSpeakers {
  version: number;
  model: string;
  persons: Map<string, Candidate>;
  clusters: Map<string, ClusterState>;
}

/** Networks cached per process; the least recently used leaves first. */
const MAX_CACHED_NETWORKS = 200;
const cache = new Map<string, NetworkSpeakers>();
/** How many times the cache was (re)loaded from the database: the bench and tests read it. */
export const speakerCacheStats = { loads: 0, hits: 0 };

function candidate(id: string, rows: StoredEmbedding[], dim: number): Candidate {
  const usable = rows.filter((r) => r.embedding.length === dim);
  const vectors = new Float32Array(usable.length * dim);
  const stats = new Float32Array(usable.length * 2);
  usable.forEach((r, k) => {
    vectors.set(r.embedding, k * dim);
    stats[2 * k] = r.cohortMean;
    stats[2 * k + 1] = r.cohortStd || 1;
  });
  return {
    id,
    rows,
    vectors,
    stats,
    count: usable.length,
    pitches: measuredPitches(usable.map((r) => r.pitchHz)),
  };
}

async function loadNetwork(trx: Executor, networkId: string, version: number): Promise<NetworkSpeakers> {
  const card = speakerModelCard();
  const { embeddings, clusters } = await loadSpeakerEmbeddings(trx, networkId);
  speakerCacheStats.loads++;
  const dim = card.embeddingDim ?? embeddings[0]?.embedding.length ?? 0;
  let wrote = false;
  for (const e of embeddings) {
    e.embedding = unit(e.embedding);
    // Rows without statistics (running means copied by migration 0030): computed once and stored.
    if (!(e.cohortStd > 0) && e.embedding.length === dim) {
      const s = cohortStats(e.embedding, card.cohort);
      e.cohortMean = s.mean;
      e.cohortStd = s.std;
      await saveCohortStats(trx, e.id, s.mean, s.std);
      wrote = true;
    }
  }
  const byPerson = new Map<string, StoredEmbedding[]>();
  const byCluster = new Map<string, StoredEmbedding[]>();
  for (const e of embeddings) {
    const [map, key] = e.personId ? [byPerson, e.personId] : [byCluster, e.clusterId!];
    const list = map.get(key) ?? [];
    list.push(e);
    map.set(key, list);
  }
  const state: NetworkSpeakers = {
    version: wrote ? await speakerVersion(trx, networkId) : version,
    model: card.model,
    persons: new Map([...byPerson].map(([id, rows]) => [id, candidate(id, rows, dim)])),
    clusters: new Map(
      clusters.map((c) => [
        c.id,
        {
          ...candidate(c.id, byCluster.get(c.id) ?? [], dim),
          utteranceCount: c.utteranceCount,
          voicedSeconds: c.voicedSeconds,
        },
      ]),
    ),
  };
  return state;
}

/**
 * The network's persons and clusters with their embeddings, from the cache when its version is current.
 * Call under the network's `personIndex` lock: every writer of embeddings holds it, so nothing changes
 * between this read and the caller's writes.
 */
async function networkSpeakers(trx: Executor, networkId: string): Promise<NetworkSpeakers> {
  const version = await speakerVersion(trx, networkId);
  const cached = cache.get(networkId);
  if (cached && cached.version === version && cached.model === speakerModelCard().model) {
    speakerCacheStats.hits++;
    cache.delete(networkId);
    cache.set(networkId, cached);
    return cached;
  }
  const state = await loadNetwork(trx, networkId, version);
  const stale = stalePersons(state);
  if (stale > 0)
    logger.warn(
      'persons with voiceprints of another speaker model: they are not recognised until they enrol again',
      {
        network_id: networkId,
        stale_persons: stale,
        model: state.model,
      },
    );
  cache.delete(networkId);
  cache.set(networkId, state);
  while (cache.size > MAX_CACHED_NETWORKS) cache.delete(cache.keys().next().value!);
  return state;
}

/** Persons with stored embeddings none of which is of the model in use (they need to enrol again). */
function stalePersons(state: NetworkSpeakers): number {
  let stale = 0;
  for (const person of state.persons.values()) if (person.rows.length > 0 && person.count === 0) stale++;
  return stale;
}

/** After this process's own writes (under the lock): the cached state is current at the new version. */
async function committedLocally(trx: Executor, networkId: string, state: NetworkSpeakers) {
  state.version = await speakerVersion(trx, networkId);
}

/** Forgets a network's cached embeddings (tests; a deleted network). */
export const forgetSpeakerCache = (networkId?: string) =>
  networkId ? cache.delete(networkId) : cache.clear();

// ---- writes ----

/** An embedding at least this close to one the person already has adds nothing (and churns the cache). */
const REDUNDANT_COSINE = 0.97;

async function addEmbedding(
  trx: Executor,
  networkId: string,
  owner: { personId: string } | { clusterId: string },
  existing: StoredEmbedding[],
  embedding: Float32Array,
  source: StoredEmbedding['source'],
  speech: { voicedSeconds: number; pitchHz?: number | null },
  maxRows: number,
): Promise<StoredEmbedding[]> {
  const stats = cohortStats(embedding, speakerModelCard().cohort);
  const row = await insertSpeakerEmbedding(trx, {
    networkId,
    ...owner,
    source,
    embedding,
    cohortMean: stats.mean,
    cohortStd: stats.std,
    voicedSeconds: speech.voicedSeconds,
    pitchHz: speech.pitchHz ?? null,
  });
  // At most `maxRows`: enrolment samples stay first, the oldest others make room (the cache holds the rows).
  const all = [...existing, row];
  if (all.length <= maxRows) return [row];
  const order = [...all].sort(
    (a, b) =>
      Number(a.source === 'enrolment') - Number(b.source === 'enrolment') ||
      a.createdAt.getTime() - b.createdAt.getTime(),
  );
  const drop = order.slice(0, all.length - maxRows);
  await deleteSpeakerEmbeddings(
    trx,
    drop.map((d) => d.id),
  );
  return [row, ...drop.map((d) => ({ ...d, id: `deleted:${d.id}` }))];
}

/** The state's candidate after rows were added or deleted (the "deleted:" ids of `changes`). */
function applyRows(
  existing: Candidate | undefined,
  id: string,
  changes: StoredEmbedding[],
  dim: number,
): Candidate {
  const deleted = new Set(changes.filter((c) => c.id.startsWith('deleted:')).map((c) => c.id.slice(8)));
  const added = changes.filter((c) => !c.id.startsWith('deleted:'));
  const rows = [...(existing?.rows ?? []), ...added].filter((r) => !deleted.has(r.id));
  return candidate(id, rows, dim);
}

/** A person's summary voiceprint (persons.voice_embedding, what `has_voice_embedding` shows): the mean. */
async function saveSummary(trx: Executor, networkId: string, person: Candidate, name?: string) {
  const dim = person.count ? person.vectors.length / person.count : 0;
  const mean = new Array<number>(dim).fill(0);
  for (let k = 0; k < person.count; k++) for (let i = 0; i < dim; i++) mean[i] += person.vectors[k * dim + i];
  await saveVoiceprint(trx, networkId, person.id, {
    embedding: Array.from(unit(mean)),
    sampleCount: person.rows.length,
    ...(name ? { name } : {}),
  });
}

// ---- the decision ----

/** Who spoke an utterance, as the interactions pipeline records it. */
export interface ResolvedSpeaker {
  outcome: 'matched' | 'new' | 'unknown';
  personId: string | null;
  index: number | null;
  name: string | null;
  /** Raw cosine of the best match. */
  similarity?: number;
  /** The calibrated score of the best candidate (AS-norm units with a cohort). */
  score?: number;
  /** Best person's score minus the second-best's. */
  margin?: number;
  /** Why the speaker is unknown: `provisional` (a new voice, in a cluster), `ambiguous`, `near_enrolled`,
   * `low_quality` (see `quality`). */
  reason?: 'provisional' | 'ambiguous' | 'near_enrolled' | 'pitch_mismatch' | 'low_quality' | 'no_speech';
  /** Semitones between the utterance's median pitch and the best candidate's, when both were measured. */
  pitchGap?: number;
  /** What made the utterance degraded: `too_short`, `too_noisy`, `clipped`, `narrowband`, `no_embedding`. */
  quality?: QualityReason[];
  /** The provisional cluster an unknown clean voice joined. */
  clusterId?: string;
  /** Earlier utterances of the cluster attributed to the person it became. */
  attributed?: number;
  /** Whether the utterance added an embedding to the person's voiceprint. */
  updated?: boolean;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

const isEvidence = (x: Float32Array | UtteranceEvidence | null): x is UtteranceEvidence =>
  !!x && !(x instanceof Float32Array);

/**
 * Who spoke, inside the caller's storing transaction and under the network's person lock. `input` is the
 * utterance's evidence (speakerEvidence(analysis)), or, as before issue 15, its bare embedding (then it is
 * taken as clean); `policy` is speakerPolicy(settings), or a bare cosine threshold (the old
 * `speaker_match_threshold`) over the card's calibration.
 */
export async function decideAndRecord(
  trx: Transaction<Database>,
  networkId: string,
  input: Float32Array | UtteranceEvidence | null,
  policyOrThreshold: SpeakerPolicy | number,
): Promise<ResolvedSpeaker> {
  const policy =
    typeof policyOrThreshold === 'number'
      ? { ...speakerPolicy(), cosineFloor: policyOrThreshold }
      : policyOrThreshold;
  const evidence: UtteranceEvidence = isEvidence(input)
    ? input
    : { embedding: input, voicedSeconds: policy.minVoicedSeconds, snrDb: Infinity, clippingRatio: 0 };
  const degraded = qualityReasons(evidence, policy).filter((r) => r !== 'no_embedding');
  const embedding = evidence.embedding;
  if (!embedding)
    return {
      outcome: 'unknown',
      personId: null,
      index: null,
      name: null,
      reason: 'low_quality',
      quality: ['no_embedding', ...degraded],
    };

  await advisoryLock(trx, 'personIndex', networkId);
  const state = await networkSpeakers(trx, networkId);
  const card = speakerModelCard();
  const test = cohortStats(embedding, card.cohort);
  const mode = policy.score;
  const pitch = evidence.pitchHz;
  const persons = scoreCandidates(embedding, test, state.persons.values(), mode, pitch);
  const clusters = degraded.length
    ? []
    : scoreCandidates(embedding, test, state.clusters.values(), mode, pitch);
  const decision = decideSpeaker(persons, clusters, degraded, policy);
  const dim = embedding.length;
  const scored = (best: CandidateScore | undefined) =>
    best
      ? {
          similarity: round(best.cosine),
          score: round(best.score, 2),
          ...(best.pitchGap !== undefined ? { pitchGap: round(best.pitchGap, 1) } : {}),
        }
      : {};

  if (decision.kind === 'matched') {
    const person = await findPerson(trx, networkId, decision.personId);
    if (!person) {
      // Deleted without bumping (cannot happen under the lock), so the cache is simply stale: reload next time.
      forgetSpeakerCache(networkId);
      return { outcome: 'unknown', personId: null, index: null, name: null, reason: 'ambiguous' };
    }
    const current = state.persons.get(decision.personId)!;
    let updated = false;
    const novel = current.count === 0 || maxCosine(embedding, current) < REDUNDANT_COSINE;
    if (decision.update && novel) {
      const changes = await addEmbedding(
        trx,
        networkId,
        { personId: person.id },
        current.rows,
        embedding,
        'match',
        evidence,
        policy.maxEmbeddingsPerPerson,
      );
      const next = applyRows(current, person.id, changes, dim);
      state.persons.set(person.id, next);
      await saveSummary(trx, networkId, next);
      await committedLocally(trx, networkId, state);
      updated = true;
    }
    return {
      outcome: 'matched',
      personId: person.id,
      index: person.index,
      name: person.name,
      ...scored(persons[0]),
      ...(decision.margin !== null ? { margin: round(decision.margin, 2) } : {}),
      updated,
      ...(decision.degraded.length ? { quality: decision.degraded } : {}),
    };
  }

  if (decision.kind === 'unknown')
    return {
      outcome: 'unknown',
      personId: null,
      index: null,
      name: null,
      reason: decision.reason,
      ...scored(decision.best),
      ...(decision.degraded.length ? { quality: decision.degraded } : {}),
    };

  // A clean voice of nobody enrolled: into its provisional cluster (a new one when none is close).
  const isNew = !decision.clusterId;
  const clusterId = decision.clusterId ?? (await createCluster(trx, networkId));
  await growCluster(trx, clusterId, evidence.voicedSeconds);
  const changes = await addEmbedding(
    trx,
    networkId,
    { clusterId },
    state.clusters.get(clusterId)?.rows ?? [],
    embedding,
    'cluster',
    evidence,
    policy.maxEmbeddingsPerPerson,
  );
  const before = state.clusters.get(clusterId);
  const cluster: ClusterState = {
    ...applyRows(before, clusterId, changes, dim),
    utteranceCount: (before?.utteranceCount ?? 0) + 1,
    voicedSeconds: (before?.voicedSeconds ?? 0) + evidence.voicedSeconds,
  };
  state.clusters.set(clusterId, cluster);

  // Persons whose every embedding is of another model (stored before a model switch, such as the upgrade
  // that made the TDNN the default) can match nothing until they enrol again: a voice that sounds new may
  // be theirs, so no "Person N" is made while there are any; the clusters wait (and are promoted after).
  const stale = stalePersons(state);
  if (
    stale > 0 ||
    cluster.utteranceCount < policy.newPersonUtterances ||
    cluster.voicedSeconds < policy.newPersonSeconds
  ) {
    await committedLocally(trx, networkId, state);
    if (isNew) await maintainClusters(trx, networkId, state, policy);
    return {
      outcome: 'unknown',
      personId: null,
      index: null,
      name: null,
      reason: 'provisional',
      clusterId,
      ...(persons[0] ? scored(persons[0]) : {}),
    };
  }

  // Enough confident speech over enough utterances: the cluster becomes "Person N".
  const created = await createPerson(trx, networkId, 'New person');
  const name = `Person ${created.index}`;
  const attributed = await promoteCluster(trx, networkId, clusterId, created.id);
  state.clusters.delete(clusterId);
  const person = candidate(
    created.id,
    cluster.rows.map((r) => ({ ...r, personId: created.id, clusterId: null })),
    dim,
  );
  state.persons.set(created.id, person);
  await saveSummary(trx, networkId, person, name);
  await proposeMergesFor(trx, networkId, state, person, policy);
  await committedLocally(trx, networkId, state);
  return {
    outcome: 'new',
    personId: created.id,
    index: created.index,
    name,
    clusterId,
    attributed,
    ...(decision.score !== null ? { score: round(decision.score, 2) } : {}),
  };
}

function maxCosine(embedding: Float32Array, c: SpeakerCandidate): number {
  const dim = embedding.length;
  let best = -1;
  for (let k = 0; k < c.count; k++) best = Math.max(best, dot(embedding, c.vectors, k * dim, dim));
  return best;
}

/**
 * The calibrated score between two candidates: the best over their pairs of embeddings; -Infinity when
 * their pitches are too far apart to be one voice (never merged, never proposed).
 */
function pairScore(a: SpeakerCandidate, b: SpeakerCandidate, policy: SpeakerPolicy, dim: number): number {
  const gap = pitchGapBetween(a.pitches, b.pitches);
  if (gap !== undefined && gap > policy.maxPitchSemitones) return -Infinity;
  const mode = policy.score;
  let best = -Infinity;
  for (let i = 0; i < a.count; i++) {
    const v = a.vectors.subarray(i * dim, (i + 1) * dim);
    const s = scoreCandidates(v, { mean: a.stats[2 * i], std: a.stats[2 * i + 1] }, [b], mode)[0];
    if (s && s.score > best) best = s.score;
  }
  return best;
}

/** Persons that sound like `person` by the merge score are proposed for merging (never merged here). */
async function proposeMergesFor(
  trx: Executor,
  networkId: string,
  state: NetworkSpeakers,
  person: Candidate,
  policy: SpeakerPolicy,
): Promise<number> {
  if (!person.count) return 0;
  const dim = person.vectors.length / person.count;
  let proposed = 0;
  for (const other of state.persons.values()) {
    if (other.id === person.id || !other.count) continue;
    const score = pairScore(person, other, policy, dim);
    if (score >= policy.mergeScore) {
      await proposeMerge(trx, networkId, person.id, other.id, round(score, 2));
      proposed++;
    }
  }
  return proposed;
}

export interface ReclusterResult {
  merged_clusters: number;
  pruned_clusters: number;
  proposals: number;
  open_clusters: number;
}

/** Provisional clusters with one utterance are forgotten after this many days. */
const STALE_CLUSTER_DAYS = 30;
/** At most this many open clusters per network (the least recently heard go first): bounded work per utterance. */
const MAX_OPEN_CLUSTERS = 100;
/** The pipeline re-clusters a network's provisional clusters at most this often (per process). */
const RECLUSTER_EVERY_MS = 10 * 60 * 1000;
const lastRecluster = new Map<string, number>();

/** Merges provisional clusters that score as one voice; returns how many were folded into another. */
async function mergeClusters(
  trx: Executor,
  networkId: string,
  state: NetworkSpeakers,
  policy: SpeakerPolicy,
): Promise<number> {
  const clusters = [...state.clusters.values()].filter((c) => c.count > 0);
  let merged = 0;
  const gone = new Set<string>();
  for (let i = 0; i < clusters.length; i++) {
    if (gone.has(clusters[i].id)) continue;
    const dim = clusters[i].vectors.length / clusters[i].count;
    for (let j = i + 1; j < clusters.length; j++) {
      if (gone.has(clusters[j].id)) continue;
      if (pairScore(clusters[i], clusters[j], policy, dim) >= policy.mergeScore) {
        await mergeCluster(trx, clusters[j].id, clusters[i].id);
        gone.add(clusters[j].id);
        merged++;
      }
    }
  }
  // The merged rows changed under this process: simplest and safe to reload them next time.
  if (merged) forgetSpeakerCache(networkId);
  return merged;
}

/**
 * The periodic part, run from the pipeline when a new cluster appears (at most every 10 minutes per
 * network and process): cluster merges, and the open clusters kept under their bound.
 */
async function maintainClusters(
  trx: Executor,
  networkId: string,
  state: NetworkSpeakers,
  policy: SpeakerPolicy,
) {
  if (state.clusters.size > MAX_OPEN_CLUSTERS) {
    const oldest = [...state.clusters.values()]
      .sort((a, b) => (a.rows.at(-1)?.createdAt.getTime() ?? 0) - (b.rows.at(-1)?.createdAt.getTime() ?? 0))
      .slice(0, state.clusters.size - MAX_OPEN_CLUSTERS);
    await deleteClusters(
      trx,
      oldest.map((c) => c.id),
    );
    forgetSpeakerCache(networkId);
  }
  const last = lastRecluster.get(networkId) ?? 0;
  if (Date.now() - last < RECLUSTER_EVERY_MS) return;
  lastRecluster.set(networkId, Date.now());
  await mergeClusters(trx, networkId, state, policy);
}

/**
 * The whole re-clustering of a network (POST P/persons/recluster; the pipeline runs its cluster part by
 * itself): provisional clusters that score as one voice are merged (their utterances follow through
 * `merged_into`), stale single-utterance clusters are dropped, and pairs of persons that score as one
 * voice are PROPOSED for merging (GET P/persons/merge-proposals): persons are never merged silently.
 * Persons are compared by their mean embedding first, and only close pairs embedding by embedding.
 */
export async function reclusterSpeakers(
  trx: Transaction<Database>,
  networkId: string,
  policy: SpeakerPolicy,
): Promise<ReclusterResult> {
  await advisoryLock(trx, 'personIndex', networkId);
  const pruned = await pruneStaleClusters(trx, networkId, STALE_CLUSTER_DAYS);
  if (pruned) forgetSpeakerCache(networkId);
  const state = await networkSpeakers(trx, networkId);
  const open = [...state.clusters.values()].filter((c) => c.count > 0).length;
  const merged = await mergeClusters(trx, networkId, state, policy);
  lastRecluster.set(networkId, Date.now());
  const persons = [...state.persons.values()].filter((p) => p.count > 0);
  const centroids = persons.map((p) => centroid(p));
  let proposals = 0;
  for (let i = 0; i < persons.length; i++) {
    const dim = centroids[i].length;
    for (let j = i + 1; j < persons.length; j++) {
      // Screening by the means' cosine keeps a 1000-person network to one dot product per pair.
      if (dot(centroids[i], centroids[j]) < policy.cosineFloor) continue;
      const score = pairScore(persons[i], persons[j], policy, dim);
      if (score >= policy.mergeScore) {
        await proposeMerge(trx, networkId, persons[i].id, persons[j].id, round(score, 2));
        proposals++;
      }
    }
  }
  return { merged_clusters: merged, pruned_clusters: pruned, proposals, open_clusters: open - merged };
}

function centroid(c: SpeakerCandidate): Float32Array {
  const dim = c.vectors.length / c.count;
  const mean = new Float32Array(dim);
  for (let k = 0; k < c.count; k++) for (let i = 0; i < dim; i++) mean[i] += c.vectors[k * dim + i];
  return unit(mean);
}

/**
 * One enrolment sample for a person (already checked for speech and music): stored as one more embedding
 * under the network's person lock, the oldest non-enrolment ones making room. Returns the number kept.
 */
export async function enrolEmbedding(
  trx: Transaction<Database>,
  networkId: string,
  personId: string,
  embedding: Float32Array,
  voicedSeconds: number,
  policy: SpeakerPolicy,
  pitchHz: number | null = null,
): Promise<void> {
  await advisoryLock(trx, 'personIndex', networkId);
  const state = await networkSpeakers(trx, networkId);
  const changes = await addEmbedding(
    trx,
    networkId,
    { personId },
    state.persons.get(personId)?.rows ?? [],
    embedding,
    'enrolment',
    { voicedSeconds, pitchHz },
    policy.maxEmbeddingsPerPerson,
  );
  const next = applyRows(state.persons.get(personId), personId, changes, embedding.length);
  state.persons.set(personId, next);
  await saveSummary(trx, networkId, next);
  await proposeMergesFor(trx, networkId, state, next, policy);
  await committedLocally(trx, networkId, state);
}
