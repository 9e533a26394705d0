import { Migrator } from 'kysely/migration';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticMigrationProvider } from '../../migrations';
import { resolveSpeaker, speakerPolicy } from '../../functions/persons/service';
import { reclusterSpeakers, speakerCacheStats } from '../../functions/persons/speakers';
import { analyzeAudio } from '../../shared/audio';
import { migrateToLatest } from '../../shared/db/migrate';
import { createPerson } from '../../shared/db/repositories/persons';
import { embeddingFromBytes, listMergeProposals } from '../../shared/db/repositories/voiceprints';
import type { Db } from '../../shared/db/client';
import type { UtteranceEvidence } from '../../shared/domain/speaker-match';
import { fixture } from '../helpers/audio';
import { clearTables, createTestDatabase, type TestDatabase } from '../helpers/db';

let database: TestDatabase;
let db: Db;
const voices: Record<string, Float32Array> = {};

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  db = database.db;
  for (const name of ['a-1', 'a-2', 'a-3', 'b-1', 'b-2', 'c-1', 'c-2', 'c-3'])
    voices[name] = (await analyzeAudio(fixture(`voice-${name}.mp3`))).embedding!;
});
afterAll(() => database.drop());

const clean = (name: string): UtteranceEvidence => ({
  embedding: voices[name],
  voicedSeconds: 3,
  snrDb: 40,
  clippingRatio: 0,
});

describe('migration 0030', () => {
  it('copies each running-mean voiceprint as one float32 embedding, the same numbers', async () => {
    const migrator = new Migrator({ db, provider: staticMigrationProvider });
    const before = await migrator.migrateTo('2026_12_01_0009_action_details_text');
    expect(before.error).toBeUndefined();
    const { id: networkId } = await db
      .insertInto('networks')
      .values({ name: 'Legacy', settings: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const values = [0.5, -0.25, 0.125, 1e-3, -0.75];
    await db
      .insertInto('persons')
      .values({
        network_id: networkId,
        name: 'Old',
        index: 1,
        voice_embedding: values,
        voice_sample_count: 4,
      })
      .execute();

    await migrateToLatest(db);

    const rows = await db.selectFrom('speaker_embeddings').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ network_id: networkId, source: 'legacy' });
    expect(Array.from(embeddingFromBytes(rows[0].embedding))).toEqual(Array.from(Float32Array.from(values)));
  });
});

describe('resolveSpeaker', () => {
  let networkId: string;
  beforeEach(async () => {
    await clearTables(db);
    ({ id: networkId } = await db
      .insertInto('networks')
      .values({ name: 'Home', settings: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow());
  });
  const resolve = (evidence: UtteranceEvidence, settings = {}) =>
    db.transaction().execute((trx) => resolveSpeaker(trx, networkId, evidence, speakerPolicy(settings)));
  const count = async (table: 'persons' | 'speaker_clusters' | 'speaker_embeddings') =>
    (await db.selectFrom(table).select('id').execute()).length;

  it('reads the embeddings once and then only a version, until they change', async () => {
    await resolve(clean('c-1'));
    const loads = speakerCacheStats.loads;
    // Its own writes (the second utterance makes a person) keep the cache current.
    expect((await resolve(clean('c-2'))).outcome).toBe('new');
    expect((await resolve(clean('c-3'))).outcome).toBe('matched');
    expect((await resolve(clean('c-3'))).outcome).toBe('matched');
    expect(speakerCacheStats.loads).toBe(loads);

    // Someone else's change (another instance) bumps the version: the next utterance reloads.
    await db.deleteFrom('speaker_embeddings').where('source', '=', 'cluster').execute();
    await db.updateTable('speaker_embeddings').set({ voiced_seconds: 2 }).execute();
    await resolve(clean('c-3'));
    expect(speakerCacheStats.loads).toBe(loads + 1);
  });

  it('never creates a person nor changes a voiceprint from short, noisy or clipped speech', async () => {
    await resolve(clean('c-1'));
    await resolve(clean('c-2'));
    const embeddings = await count('speaker_embeddings');
    const degraded = [
      { ...clean('b-1'), snrDb: 5 },
      { ...clean('b-2'), voicedSeconds: 0.7 },
      { ...clean('b-1'), clippingRatio: 0.08 },
      { ...clean('c-3'), snrDb: 4 },
    ];
    const results = [];
    for (const evidence of degraded) results.push(await resolve(evidence));

    expect(results.slice(0, 3).map((r) => [r.outcome, r.reason, r.quality])).toEqual([
      ['unknown', 'low_quality', ['too_noisy']],
      ['unknown', 'low_quality', ['too_short']],
      ['unknown', 'low_quality', ['clipped']],
    ]);
    // Voice c, noisy: attributed only if the match is clear by the stricter bar; never an update.
    expect(results[3].updated ?? false).toBe(false);
    expect(await count('persons')).toBe(1);
    expect(await count('speaker_embeddings')).toBe(embeddings);
  });

  it("keeps each voiceprint's pitch and names no one whose pitch is far from the utterance's", async () => {
    const person = await createPerson(db, networkId, 'Cal');
    await db.transaction().execute(async (trx) => {
      const { enrolEmbedding } = await import('../../functions/persons/speakers');
      for (const [name, pitchHz] of [
        ['c-1', 110],
        ['c-2', 115],
      ] as const)
        await enrolEmbedding(trx, networkId, person.id, voices[name], 3, speakerPolicy(), pitchHz);
    });
    const stored = await db.selectFrom('speaker_embeddings').select('pitch_hz').orderBy('pitch_hz').execute();
    expect(stored.map((r) => r.pitch_hz)).toEqual([110, 115]);

    // Voice c's timbre 5.7 semitones above Cal's nearest pitch: not Cal, and no provisional person either.
    const higher = await resolve({ ...clean('c-3'), pitchHz: 160 });
    expect(higher).toMatchObject({ outcome: 'unknown', reason: 'pitch_mismatch', personId: null });
    expect(higher.pitchGap).toBeGreaterThan(5);
    expect(await count('speaker_clusters')).toBe(0);
    // At Cal's pitch (or unmeasured) it is Cal.
    expect(await resolve({ ...clean('c-3'), pitchHz: 105 })).toMatchObject({
      outcome: 'matched',
      name: 'Cal',
    });
    expect(await resolve(clean('c-3'))).toMatchObject({ outcome: 'matched', name: 'Cal' });
    // The setting turns the veto off.
    expect(
      await resolve({ ...clean('c-3'), pitchHz: 160 }, { speaker_max_pitch_semitones: 48 }),
    ).toMatchObject({ outcome: 'matched', name: 'Cal' });
  });

  it('makes no new person while someone enrolled with another model has to enrol again', async () => {
    const { insertSpeakerEmbedding } = await import('../../shared/db/repositories/voiceprints');
    const { speakerSettings } = await import('../../functions/persons/service');
    // Enrolled before the model switch: a 192-dim voiceprint of the old default, which nothing matches.
    const old = await createPerson(db, networkId, 'Olga');
    await insertSpeakerEmbedding(db, {
      networkId,
      personId: old.id,
      source: 'enrolment',
      embedding: new Float32Array(192).fill(0.07),
      cohortMean: 0.1,
      cohortStd: 0.1,
      voicedSeconds: 3,
    });
    expect((await speakerSettings(db, networkId)).persons_to_re_enrol).toEqual([old.id]);

    // Voice c three times: it may be Olga's, so it waits in its cluster instead of becoming "Person 2".
    for (const name of ['c-1', 'c-2', 'c-3'])
      expect(await resolve(clean(name))).toMatchObject({ outcome: 'unknown', reason: 'provisional' });
    expect(await count('persons')).toBe(1);

    // Once Olga has enrolled with the model in use, the waiting cluster can become a person again.
    await db.transaction().execute(async (trx) => {
      const { enrolEmbedding } = await import('../../functions/persons/speakers');
      await enrolEmbedding(trx, networkId, old.id, voices['a-1'], 3, speakerPolicy());
    });
    expect((await speakerSettings(db, networkId)).persons_to_re_enrol).toEqual([]);
    expect(await resolve(clean('c-1'))).toMatchObject({ outcome: 'new' });
  });

  it('stays unknown when two persons are about as close (the margin)', async () => {
    for (const name of ['Twin 1', 'Twin 2']) {
      const person = await createPerson(db, networkId, name);
      await db.transaction().execute(async (trx) => {
        const { enrolEmbedding } = await import('../../functions/persons/speakers');
        await enrolEmbedding(trx, networkId, person.id, voices['c-1'], 3, speakerPolicy());
      });
    }

    const result = await resolve(clean('c-2'));

    expect(result).toMatchObject({ outcome: 'unknown', reason: 'ambiguous', personId: null });
  });

  it('re-clusters: merges clusters of one voice, proposes (never makes) a merge of two persons', async () => {
    // Two clusters of voice c, made while the join score was set out of reach.
    const strict = { speaker_cluster_score: 1000 };
    await resolve(clean('c-1'), strict);
    await resolve(clean('c-2'), strict);
    expect(await count('speaker_clusters')).toBe(2);
    // Two persons of voice b.
    for (const name of ['Bea', 'Bee']) {
      const person = await createPerson(db, networkId, name);
      await db.transaction().execute(async (trx) => {
        const { enrolEmbedding } = await import('../../functions/persons/speakers');
        await enrolEmbedding(
          trx,
          networkId,
          person.id,
          voices[name === 'Bea' ? 'b-1' : 'b-2'],
          3,
          speakerPolicy(),
        );
      });
    }

    const result = await db
      .transaction()
      // Voice b's sentences score 4.0 against each other under the trained model, below the card's
      // merge score: the network's own, lower one (a setting) proposes them.
      .execute((trx) => reclusterSpeakers(trx, networkId, speakerPolicy({ speaker_merge_score: 3.5 })));

    expect(result).toMatchObject({ merged_clusters: 1, open_clusters: 1, proposals: 1 });
    const open = await db
      .selectFrom('speaker_clusters')
      .selectAll()
      .where('merged_into', 'is', null)
      .execute();
    expect(open.map((c) => c.utterance_count)).toEqual([2]);
    expect(await count('persons')).toBe(2);
    expect(await listMergeProposals(db, networkId)).toHaveLength(1);
  });
});
