/**
 * npm run eval:speaker [-- --enrolled 8 --tests 2 --json]
 *
 * Evaluates the speaker model in use (the committed default, or SPEAKER_MODEL_PATH) on the committed held-out
 * set under every condition, at the threshold it would run with (its model card's, else SPEAKER_MATCH_THRESHOLD
 * or the default), and prints a Markdown table. See scripts/speaker/eval/evaluate.ts for what each column means.
 */
import { parseArgs } from 'node:util';
import { speakerModelCard } from '../../shared/audio/model-card';
import { speakerModelPath } from '../../shared/audio/models';
import { speakerMatchThreshold } from '../../shared/audio/speaker';
import { evaluateSpeakerModel, formatTable } from './eval/evaluate';

const { values } = parseArgs({
  options: {
    enrolled: { type: 'string' },
    tests: { type: 'string' },
    threshold: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const model = speakerModelPath();
const threshold = values.threshold ? Number(values.threshold) : speakerMatchThreshold();
const started = Date.now();
const rows = await evaluateSpeakerModel({
  threshold,
  enrolled: values.enrolled ? Number(values.enrolled) : undefined,
  testUtterances: values.tests ? Number(values.tests) : undefined,
});
if (values.json) console.log(JSON.stringify({ model, threshold, rows }, null, 2));
else {
  console.log(
    `model ${model} (${speakerModelCard(model)?.name ?? 'no model card'}), match threshold ${threshold}`,
  );
  console.log(formatTable(rows));
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`);
}
