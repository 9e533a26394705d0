/**
 * The model card and impostor cohort that ship beside a speaker model: for `x.onnx`, `x.card.json` and
 * `x.cohort.json` in the same folder (so a WeSpeaker export at SPEAKER_MODEL_PATH brings its own). The card
 * says which features the model takes, its embedding size and the thresholds calibrated for it; the cohort
 * is a set of L2-normalised embeddings of voices that are nobody in particular, for score normalisation
 * (s-norm). A model without a card still works, with the configured or default threshold.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as z from 'zod';
import { speakerModelCompanion, speakerModelPath } from './models';

const cardSchema = z.object({
  name: z.string(),
  model: z.string(),
  embeddingDim: z.number().int().positive(),
  input: z.object({ name: z.string(), shape: z.array(z.union([z.string(), z.number()])) }),
  output: z.object({ name: z.string(), shape: z.array(z.union([z.string(), z.number()])) }),
  features: z.record(z.string(), z.unknown()),
  thresholds: z.object({
    /** Cosine to a voiceprint at or above which an utterance is that person's. */
    match: z.number(),
    /** Voiced speech (seconds) below which the model's embeddings are not reliable. */
    minSpeechSeconds: z.number(),
    /** Suggested least difference between the best and the second-best person's cosine. */
    margin: z.number(),
  }),
  cohort: z.object({ file: z.string(), size: z.number().int() }).optional(),
  calibration: z.record(z.string(), z.unknown()).optional(),
  evaluation: z.record(z.string(), z.unknown()).optional(),
});
export type SpeakerModelCard = z.infer<typeof cardSchema>;

const cohortSchema = z.object({
  model: z.string(),
  dim: z.number().int().positive(),
  embeddings: z.array(z.array(z.number())),
});

const cards = new Map<string, SpeakerModelCard | undefined>();
const cohorts = new Map<string, Float32Array[] | undefined>();

/** The card of the speaker model in use (or of `modelPath`); undefined when the model has none. */
export function speakerModelCard(modelPath = speakerModelPath()): SpeakerModelCard | undefined {
  if (!cards.has(modelPath)) {
    const file = speakerModelCompanion(modelPath, '.card.json');
    cards.set(
      modelPath,
      existsSync(file) ? cardSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : undefined,
    );
  }
  return cards.get(modelPath);
}

/** The impostor cohort of the speaker model in use (or of `modelPath`); undefined when it ships none. */
export function speakerCohort(modelPath = speakerModelPath()): Float32Array[] | undefined {
  if (!cohorts.has(modelPath)) {
    const file = speakerModelCompanion(modelPath, '.cohort.json');
    const parsed = existsSync(file) ? cohortSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
    cohorts.set(
      modelPath,
      parsed?.embeddings.map((e) => {
        if (e.length !== parsed.dim)
          throw new Error(`${file}: an embedding has ${e.length} values, not ${parsed.dim}`);
        return Float32Array.from(e);
      }),
    );
  }
  return cohorts.get(modelPath);
}
