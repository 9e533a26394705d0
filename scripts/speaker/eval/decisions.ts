/**
 * The speaker evaluation through the decisions `register` makes, not only the model's scores: for each
 * condition, a fresh household in an in-memory PGlite database, its enrolled voices enrolled with their clean
 * utterances (`enrolEmbedding`, as `POST P/persons/{id}/voice` does), then every test utterance of every
 * voice, enrolled or not, interleaved as a household talks, through the persons context's own
 * `resolveSpeaker` (quality gate, AS-norm scores, margin, the near-enrolled band, provisional clusters that
 * become a person at their second confident utterance) at the policy the model card ships.
 *
 * Per condition, over the test utterances:
 *  - right name / wrong name / unknown: of enrolled voices' utterances, the outcome `register` returns;
 *  - false accept: unenrolled voices' utterances given someone else's name (enrolled, or made for another voice);
 *  - wrongly created: utterances that made a person who should not exist (a second person for an
 *    enrolled voice, or a further one for a stranger who already has one), share of all test utterances;
 *  - strangers recognised: unenrolled voices' utterances attributed to the one person made for them.
 */
import { createDb, type Db } from '../../../shared/db/client';
import { migrateToLatest } from '../../../shared/db/migrate';
import { createPerson } from '../../../shared/db/repositories/persons';
import { resolveSpeaker, speakerPolicy } from '../../../functions/persons/service';
import { enrolEmbedding, forgetSpeakerCache } from '../../../functions/persons/speakers';
import type { SpeakerPolicy } from '../../../shared/domain/speaker-match';
import { prng } from '../../../test/helpers/audio';
import { markdownTable, type AnalysedSet, type TestItem } from './evaluate';
import type { Condition } from './conditions';

export interface DecisionRow {
  condition: Condition;
  rightName: number;
  wrongName: number;
  unknown: number;
  falseAccept: number;
  wronglyCreated: number;
  strangersRecognised: number;
}

/** Utterance rounds (each voice's n-th test utterance), each round in a seeded random order of voices. */
function householdOrder(items: TestItem[], seed: number): TestItem[] {
  const byVoice = new Map<number, TestItem[]>();
  for (const item of items) byVoice.set(item.speaker, [...(byVoice.get(item.speaker) ?? []), item]);
  const rand = prng(seed);
  const rounds = Math.max(...[...byVoice.values()].map((v) => v.length));
  const out: TestItem[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = [...byVoice.values()].flatMap((v) => (v[r] ? [v[r]] : []));
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [round[i], round[j]] = [round[j], round[i]];
    }
    out.push(...round);
  }
  return out;
}

/** An in-memory database for `evaluateDecisions`; reuse one across many runs (each run uses new networks). */
export async function decisionDatabase(): Promise<Db> {
  const db = await createDb({ dataDir: 'memory' });
  await migrateToLatest(db);
  return db;
}

export async function evaluateDecisions(
  set: AnalysedSet,
  policy: SpeakerPolicy = speakerPolicy(),
  database?: Db,
): Promise<DecisionRow[]> {
  const db = database ?? (await decisionDatabase());
  try {
    const rows: DecisionRow[] = [];
    for (const { condition, items } of set.conditions) {
      const { id: networkId } = await db
        .insertInto('networks')
        .values({ name: `eval ${condition}`, settings: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      forgetSpeakerCache(networkId);
      // Whose voice each person is: the enrolled persons, then those `register` makes.
      const voiceOf = new Map<string, number>();
      const wrongPersons = new Set<string>();
      for (const [index, evidence] of set.enrolment.entries()) {
        const person = await createPerson(db, networkId, set.enrolled[index].id);
        voiceOf.set(person.id, index);
        for (const sample of evidence)
          if (sample.embedding)
            await db
              .transaction()
              .execute((trx) =>
                enrolEmbedding(
                  trx,
                  networkId,
                  person.id,
                  sample.embedding!,
                  sample.voicedSeconds,
                  policy,
                  sample.pitchHz,
                ),
              );
      }
      const madeFor = new Set<number>();
      const counts = { right: 0, wrong: 0, unknown: 0, falseAccept: 0, wronglyCreated: 0, recognised: 0 };
      let enrolledTests = 0;
      for (const item of householdOrder(items, 7)) {
        if (item.enrolled) enrolledTests++;
        const resolved = await db
          .transaction()
          .execute((trx) => resolveSpeaker(trx, networkId, item.evidence, policy));
        const personId = resolved.outcome === 'unknown' ? null : resolved.personId;
        // The utterance and the earlier ones of its cluster, now attributed to the new person.
        const weight = resolved.outcome === 'new' ? 1 + (resolved.attributed ?? 0) : 1;
        if (resolved.outcome === 'new' && personId) {
          voiceOf.set(personId, item.speaker);
          // A person for an enrolled voice, or a second one for a stranger, should not exist.
          if (item.enrolled || madeFor.has(item.speaker)) wrongPersons.add(personId);
          madeFor.add(item.speaker);
        }
        const voice = personId ? voiceOf.get(personId) : undefined;
        if (personId && wrongPersons.has(personId)) counts.wronglyCreated += weight;
        if (item.enrolled) {
          if (voice === undefined || (voice === item.speaker && wrongPersons.has(personId!)))
            counts.unknown++;
          else if (voice === item.speaker) counts.right++;
          else counts.wrong++;
        } else if (voice !== undefined) {
          // Another person's name: an enrolled one, or the one made for another stranger.
          if (voice !== item.speaker) counts.falseAccept++;
          else if (voice === item.speaker && !wrongPersons.has(personId!)) counts.recognised += weight;
        }
      }
      const unenrolledTests = items.length - enrolledTests;
      rows.push({
        condition,
        rightName: counts.right / enrolledTests,
        wrongName: counts.wrong / enrolledTests,
        unknown: counts.unknown / enrolledTests,
        falseAccept: unenrolledTests ? counts.falseAccept / unenrolledTests : NaN,
        wronglyCreated: counts.wronglyCreated / items.length,
        strangersRecognised: unenrolledTests ? counts.recognised / unenrolledTests : NaN,
      });
    }
    return rows;
  } finally {
    if (!database) await db.destroy();
  }
}

const pct = (x: number) => (Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

/** The rows as a Markdown table. */
export function formatDecisionTable(rows: DecisionRow[]): string {
  const head = [
    'condition',
    'right name',
    'wrong name',
    'unknown',
    'false accept',
    'wrongly created',
    'strangers recognised',
  ];
  return markdownTable(
    head,
    rows.map((r) => [
      r.condition,
      ...[r.rightName, r.wrongName, r.unknown, r.falseAccept, r.wronglyCreated, r.strangersRecognised].map(
        pct,
      ),
    ]),
  );
}
