/**
 * npx tsx scripts/speaker/calibrate.ts <calibration-dir> [--write]
 *
 * Sets the speaker model card's decision thresholds from the decisions `register` would make, not from the
 * model's scores alone: the calibration set (`/usr/bin/python3 scripts/speaker/make_eval_set.py calibration
 * DIR`: 24 voices of variants neither trained on nor in the evaluation set) is analysed once under every
 * evaluation condition, then replayed through the persons context's own decisions (quality gate, AS-norm,
 * margin, provisional clusters; scripts/speaker/eval/decisions.ts) for each candidate policy on a grid.
 *
 * The rule, in this order: a wrong name is worse than "unknown", so a policy qualifies only when, in the
 * worst condition, unenrolled voices get someone's name at most 5 % of the time, enrolled voices get another
 * person's name at most 2 %, and at most 5 % of utterances go to a person who should not exist; among those,
 * the one that names enrolled voices right most often on average wins. Without --write it prints the grid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { speakerModelCard } from '../../shared/audio/model-card';
import { speakerPolicy } from '../../functions/persons/speakers';
import type { SpeakerPolicy } from '../../shared/domain/speaker-match';
import { decisionDatabase, evaluateDecisions, formatDecisionTable, type DecisionRow } from './eval/decisions';
import { analyseEvalSet } from './eval/evaluate';

const MAX_FALSE_ACCEPT = 0.05;
const MAX_WRONG_NAME = 0.02;
const MAX_WRONGLY_CREATED = 0.05;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { write: { type: 'boolean', default: false } },
});
const dir = positionals[0];
if (!dir) throw new Error('usage: calibrate.ts <calibration-dir> [--write]');

const card = speakerModelCard();
if (!card.cardPath || card.calibration.score !== 'as-norm')
  throw new Error('calibrate.ts sets AS-norm thresholds: the model needs a card with a cohort');
const base = speakerPolicy();
const set = await analyseEvalSet({ dir });
// One database for every trial: creating many in-memory PGlite instances in one process is slow.
const db = await decisionDatabase();

interface Trial {
  policy: SpeakerPolicy;
  rows: DecisionRow[];
  worst: { falseAccept: number; wrongName: number; wronglyCreated: number };
  meanRight: number;
}

const worstOf = (rows: DecisionRow[], key: 'falseAccept' | 'wrongName' | 'wronglyCreated') =>
  Math.max(...rows.map((r) => r[key]));
const qualifies = (t: Trial) =>
  t.worst.falseAccept <= MAX_FALSE_ACCEPT &&
  t.worst.wrongName <= MAX_WRONG_NAME &&
  t.worst.wronglyCreated <= MAX_WRONGLY_CREATED;

const trials: Trial[] = [];
for (let accept = 2; accept <= 4.501; accept += 0.5)
  for (const minMargin of [0.5, 1])
    for (const degradedOffset of [0, 1]) {
      // Clusters join at the accept score; an update and a merge need a point more, as before.
      const policy: SpeakerPolicy = {
        ...base,
        acceptScore: accept,
        minMargin,
        degradedAcceptScore: accept + degradedOffset,
        clusterScore: accept,
        updateScore: accept + 1,
        mergeScore: accept + 1,
      };
      const rows = await evaluateDecisions(set, policy, db);
      const trial: Trial = {
        policy,
        rows,
        worst: {
          falseAccept: worstOf(rows, 'falseAccept'),
          wrongName: worstOf(rows, 'wrongName'),
          wronglyCreated: worstOf(rows, 'wronglyCreated'),
        },
        meanRight: rows.reduce((s, r) => s + r.rightName, 0) / rows.length,
      };
      trials.push(trial);
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      console.log(
        `accept ${accept.toFixed(2)} margin ${minMargin} degraded ${(accept + degradedOffset).toFixed(2)}: right ${pct(trial.meanRight)}, ` +
          `worst false accept ${pct(trial.worst.falseAccept)}, wrong name ${pct(trial.worst.wrongName)}, ` +
          `wrongly created ${pct(trial.worst.wronglyCreated)}${qualifies(trial) ? '' : ' (does not qualify)'}`,
      );
    }

const qualified = trials.filter(qualifies);
const chosen = qualified.length
  ? qualified.reduce((a, b) => (b.meanRight > a.meanRight ? b : a))
  : trials.reduce((a, b) =>
      Math.max(b.worst.falseAccept, b.worst.wronglyCreated) <
      Math.max(a.worst.falseAccept, a.worst.wronglyCreated)
        ? b
        : a,
    );
console.log(
  `\nchosen: accept ${chosen.policy.acceptScore}, margin ${chosen.policy.minMargin}, degraded ${chosen.policy.degradedAcceptScore}` +
    (qualified.length ? '' : ' (no policy met every bound: the one with the lowest worst error)'),
);
console.log(formatDecisionTable(chosen.rows));

if (values.write) {
  const raw = JSON.parse(readFileSync(card.cardPath, 'utf8'));
  const round = (x: number) => Math.round(x * 1000) / 1000;
  raw.calibration = {
    ...raw.calibration,
    accept_score: round(chosen.policy.acceptScore),
    degraded_accept_score: round(chosen.policy.degradedAcceptScore),
    min_margin: round(chosen.policy.minMargin),
    cluster_score: round(chosen.policy.clusterScore),
    update_score: round(chosen.policy.updateScore),
    merge_score: round(chosen.policy.mergeScore),
  };
  raw.decision_calibration = {
    command: 'npx tsx scripts/speaker/calibrate.ts <dir> --write',
    set: 'make_eval_set.py calibration <dir>: recipe.calibration_speakers(24), 16 enrolled (3 clean utterances), 8 unenrolled, 5 tests each, every evaluation condition',
    rule:
      `through the persons context's decisions; worst condition: false accept <= ${MAX_FALSE_ACCEPT}, wrong name <= ${MAX_WRONG_NAME}, ` +
      `wrongly created <= ${MAX_WRONGLY_CREATED}; then the most right names on average`,
    met: qualified.length > 0,
    conditions: Object.fromEntries(
      chosen.rows.map((r) => [
        r.condition,
        {
          rightName: round(r.rightName),
          wrongName: round(r.wrongName),
          unknown: round(r.unknown),
          falseAccept: round(r.falseAccept),
          wronglyCreated: round(r.wronglyCreated),
        },
      ]),
    ),
  };
  writeFileSync(card.cardPath, `${JSON.stringify(raw, null, 2)}\n`);
  console.log(`wrote ${card.cardPath}`);
}
