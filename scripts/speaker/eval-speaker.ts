/**
 * npm run eval:speaker [-- --enrolled 8 --tests 2 --threshold 0.7 --cosine --json --dir <set>]
 *
 * Evaluates the speaker model in use (the committed default, or SPEAKER_MODEL_PATH) on the committed held-out
 * set under every condition, scored as its model card says (raw cosine, or AS-norm against the card's cohort)
 * at the card's accept score (a model without a card: raw cosine at the uncalibrated default, or --threshold),
 * and prints a Markdown table. See scripts/speaker/eval/evaluate.ts for what each column means.
 */
import { parseArgs } from 'node:util';
import { speakerModelCard } from '../../shared/audio/model-card';
import { evaluateDecisions, formatDecisionTable } from './eval/decisions';
import { analyseEvalSet, formatTable, scoreModel } from './eval/evaluate';

const { values } = parseArgs({
  options: {
    enrolled: { type: 'string' },
    tests: { type: 'string' },
    threshold: { type: 'string' },
    json: { type: 'boolean', default: false },
    /** Another set of the same shape (default: the committed test/fixtures/speaker-eval). */
    dir: { type: 'string' },
    /** Raw cosines even when the card has a cohort (how the models were scored before AS-norm). */
    cosine: { type: 'boolean', default: false },
  },
});
const card = speakerModelCard();
const cohort = card.calibration.score === 'as-norm' && !values.cosine ? card.cohort : undefined;
const threshold = values.threshold ? Number(values.threshold) : card.calibration.acceptScore;
const started = Date.now();
const set = await analyseEvalSet({
  dir: values.dir,
  enrolled: values.enrolled ? Number(values.enrolled) : undefined,
  testUtterances: values.tests ? Number(values.tests) : undefined,
});
const rows = scoreModel(set, { threshold, cohort });
// The decisions `register` makes use the card's whole policy (a --threshold or --cosine run is the model's
// numbers only).
const decisions = values.threshold || values.cosine ? undefined : await evaluateDecisions(set);
const scoring = cohort ? 'as-norm' : 'cosine';
if (values.json)
  console.log(JSON.stringify({ model: card.model, scoring, threshold, rows, decisions }, null, 2));
else {
  console.log(`model ${card.model} (card ${card.cardPath ?? 'none'}), ${scoring} accept score ${threshold}`);
  console.log('\nThe model alone (best voiceprint against the accept score):\n');
  console.log(formatTable(rows));
  if (decisions) {
    console.log(
      "\nWhat register decides (quality gate, margin, provisional clusters, at the card's policy):\n",
    );
    console.log(formatDecisionTable(decisions));
  }
  console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s`);
}
