/**
 * The speaker evaluation: held-out synthetic voices (test/fixtures/speaker-eval, made by
 * scripts/speaker/make_eval_set.py) under each condition of ./conditions.ts, through the production path
 * (decode, Silero VAD, speech only, fbank, the model, L2 normalisation), scored the way the model card says
 * (raw cosine, or AS-norm against its cohort) against a voiceprint: the L2-normalised mean of three clean
 * enrolment utterances. The decision rules of the persons context on top (quality gate, margin, provisional
 * clusters) are not applied: these are the model's own numbers.
 *
 * Per condition:
 *  - top-1 at 4/8/16 enrolled voices: the right person has the highest cosine (averaged over disjoint
 *    groups of the enrolled voices, so 4 voices is four households of four);
 *  - EER over (test utterance, voiceprint) pairs, impostors including the unenrolled voices;
 *  - false accepts: unenrolled voices (strangers and "relatives" of an enrolled voice) whose best cosine
 *    reaches the match threshold, i.e. would be given an enrolled person's name;
 *  - wrongly created persons: enrolled voices whose best cosine stays below the threshold, so `register`
 *    would make a new person of them;
 *  - wrong names: enrolled voices matched, above the threshold, to another enrolled person.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio, detectSpeech, qualityMetrics } from '../../../shared/audio';
import { SAMPLE_RATE } from '../../../shared/audio/decode';
import { speakerEmbedding, speechOnly } from '../../../shared/audio/speaker';
import { medianPitchHz } from '../../../shared/audio/pitch';
import type { UtteranceEvidence } from '../../../shared/domain/speaker-match';
import { asNorm, cohortStats, type Cohort } from '../../../shared/domain/speaker-score';
import { CONDITIONS, degrade, type Condition } from './conditions';

export const EVAL_SET_DIR = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'speaker-eval');

interface Manifest {
  enrolled: number;
  enrolUtterances: number;
  speakers: {
    id: string;
    voice: string;
    pitch: number;
    role: 'enrolled' | 'stranger' | 'relative';
    files: string[];
  }[];
}

export interface EvalOptions {
  /** The accept score: a raw cosine, or an AS-norm score when `cohort` is given. */
  threshold: number;
  /** Score with AS-norm against this impostor cohort (as the persons context does with the model card's). */
  cohort?: Cohort;
  dir?: string;
  conditions?: readonly Condition[];
  /** Use only the first n enrolled voices (and every unenrolled one): a small set for CI. */
  enrolled?: number;
  /** Test utterances per voice (default: all after the enrolment ones). */
  testUtterances?: number;
}

export interface EvalRow {
  condition: Condition;
  /** Enrolled-voice count -> share of test utterances whose best voiceprint is their own. */
  top1: Record<number, number>;
  eer: number;
  falseAccept: number;
  wronglyCreated: number;
  wrongName: number;
  /** Test utterances in which the VAD found too little speech for an embedding (counted as misses). */
  noEmbedding: number;
}

/** What one (degraded) test utterance gives the speaker decision: as `speakerEvidence` computes it in `register`. */
export type Evidence = UtteranceEvidence;

const SHORT_SECONDS = 0.8;

async function analyse(samples: Float32Array, condition: Condition, seed: number): Promise<Evidence> {
  const degraded = degrade(samples, condition, seed);
  const vad = await detectSpeech(degraded);
  const quality = qualityMetrics(degraded, vad);
  let speech = speechOnly(degraded, vad.segments);
  if (condition === 'short 0.8 s') {
    const n = Math.round(SHORT_SECONDS * SAMPLE_RATE);
    const start = Math.max(0, Math.floor((speech.length - n) / 2));
    speech = speech.slice(start, start + n);
  }
  const evidence = {
    voicedSeconds: speech.length / SAMPLE_RATE,
    snrDb: quality.snrDb,
    clippingRatio: quality.clippingRatio,
    highBandRatio: quality.highBandRatio,
    pitchHz: medianPitchHz(speech),
  };
  if (!vad.segments.length) return { embedding: null, ...evidence };
  try {
    return { embedding: await speakerEmbedding(speech), ...evidence };
  } catch {
    return { embedding: null, ...evidence }; // too little speech
  }
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

function meanEmbedding(embs: Float32Array[]): Float32Array {
  const out = new Float32Array(embs[0].length);
  for (const e of embs) for (let i = 0; i < e.length; i++) out[i] += e[i];
  const norm = Math.sqrt(dot(out, out)) || 1;
  return out.map((v) => v / norm);
}

/** Equal error rate of target and impostor scores (the point where miss and false-accept rates cross). */
export function equalErrorRate(targets: number[], impostors: number[]): number {
  if (!targets.length || !impostors.length) return NaN;
  const scored = [...targets.map((s) => [s, 1] as const), ...impostors.map((s) => [s, 0] as const)].sort(
    (a, b) => b[0] - a[0],
  );
  let accepted = 0; // impostors above the running threshold
  let found = 0; // targets above it
  let best = 1;
  for (const [, isTarget] of scored) {
    if (isTarget) found++;
    else accepted++;
    const far = accepted / impostors.length;
    const frr = 1 - found / targets.length;
    best = Math.min(best, Math.max(far, frr));
  }
  return best;
}

/** One test utterance of a condition: whose voice, and what the audio gave. */
export interface TestItem {
  /** Index into `enrolled` then `unenrolled` (enrolled voices first). */
  speaker: number;
  enrolled: boolean;
  evidence: Evidence;
}

/** The evaluation set analysed once: enrolment evidence (clean) and each condition's test utterances. */
export interface AnalysedSet {
  enrolled: Manifest['speakers'];
  unenrolled: Manifest['speakers'];
  /** Per enrolled voice, its clean enrolment utterances. */
  enrolment: Evidence[][];
  conditions: { condition: Condition; items: TestItem[] }[];
}

/** Decodes the set and runs the production audio path on every utterance in every condition. */
export async function analyseEvalSet(
  options: Omit<EvalOptions, 'threshold' | 'cohort'>,
): Promise<AnalysedSet> {
  const dir = options.dir ?? EVAL_SET_DIR;
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const enrolledCount = Math.min(options.enrolled ?? manifest.enrolled, manifest.enrolled);
  const enrolled = manifest.speakers.filter((s) => s.role === 'enrolled').slice(0, enrolledCount);
  const unenrolled = manifest.speakers.filter((s) => s.role !== 'enrolled');
  const k = manifest.enrolUtterances;
  const tests = (files: string[]) =>
    files.slice(k, options.testUtterances ? k + options.testUtterances : undefined);
  const audio = new Map<string, Float32Array>();
  const load = async (file: string) => {
    let samples = audio.get(file);
    if (!samples) {
      samples = (await decodeAudio(readFileSync(join(dir, file)))).samples;
      audio.set(file, samples);
    }
    return samples;
  };
  const enrolment: Evidence[][] = [];
  for (const speaker of enrolled) {
    const evidence: Evidence[] = [];
    for (const file of speaker.files.slice(0, k)) evidence.push(await analyse(await load(file), 'clean', 0));
    if (!evidence.some((e) => e.embedding)) throw new Error(`No enrolment embedding for ${speaker.id}`);
    enrolment.push(evidence);
  }
  const conditions: AnalysedSet['conditions'] = [];
  for (const condition of options.conditions ?? CONDITIONS) {
    const items: TestItem[] = [];
    let seed = 1;
    for (const [index, speaker] of [...enrolled, ...unenrolled].entries())
      for (const file of tests(speaker.files))
        items.push({
          speaker: index,
          enrolled: index < enrolled.length,
          evidence: await analyse(await load(file), condition, seed++),
        });
    conditions.push({ condition, items });
  }
  return { enrolled, unenrolled, enrolment, conditions };
}

/** The model's own numbers on an analysed set (see the header). */
export function scoreModel(set: AnalysedSet, options: Pick<EvalOptions, 'threshold' | 'cohort'>): EvalRow[] {
  const { enrolled } = set;
  const voiceprints = set.enrolment.map((evidence) =>
    meanEmbedding(evidence.flatMap((e) => (e.embedding ? [e.embedding] : []))),
  );
  const printStats = voiceprints.map((v) => cohortStats(v, options.cohort));
  const score = (e: Float32Array) => {
    const test = cohortStats(e, options.cohort);
    return voiceprints.map((v, i) => (options.cohort ? asNorm(dot(e, v), test, printStats[i]) : dot(e, v)));
  };
  const groupSizes = [4, 8, 16].filter((n) => n <= enrolled.length);
  const rows: EvalRow[] = [];
  for (const { condition, items } of set.conditions) {
    const targets: number[] = [];
    const impostors: number[] = [];
    const correct: Record<number, number> = Object.fromEntries(groupSizes.map((n) => [n, 0]));
    let enrolledTests = 0;
    let wronglyCreated = 0;
    let wrongName = 0;
    let falseAccepts = 0;
    let unenrolledTests = 0;
    let noEmbedding = 0;
    for (const { speaker: index, enrolled: isEnrolled, evidence } of items) {
      const e = evidence.embedding;
      if (isEnrolled) enrolledTests++;
      else unenrolledTests++;
      if (!e) {
        noEmbedding++;
        continue; // no embedding: nobody is named and nobody is created
      }
      const scores = score(e);
      const best = scores.reduce((b, s, i) => (s > scores[b] ? i : b), 0);
      if (isEnrolled) {
        scores.forEach((s, i) => (i === index ? targets : impostors).push(s));
        for (const n of groupSizes) {
          const group = Math.floor(index / n);
          const members = scores.slice(group * n, group * n + n);
          if (members.indexOf(Math.max(...members)) === index - group * n) correct[n]++;
        }
        if (scores[best] < options.threshold) wronglyCreated++;
        else if (best !== index) wrongName++;
      } else {
        impostors.push(...scores);
        if (scores[best] >= options.threshold) falseAccepts++;
      }
    }
    rows.push({
      condition,
      top1: Object.fromEntries(groupSizes.map((n) => [n, correct[n] / enrolledTests])),
      eer: equalErrorRate(targets, impostors),
      falseAccept: unenrolledTests ? falseAccepts / unenrolledTests : NaN,
      wronglyCreated: wronglyCreated / enrolledTests,
      wrongName: wrongName / enrolledTests,
      noEmbedding: noEmbedding / (enrolledTests + unenrolledTests),
    });
  }
  return rows;
}

export async function evaluateSpeakerModel(options: EvalOptions): Promise<EvalRow[]> {
  return scoreModel(await analyseEvalSet(options), options);
}

const pct = (x: number) => (Number.isNaN(x) ? '   -' : `${(100 * x).toFixed(1)}%`.padStart(6));

/** A Markdown table of `head` and the rows' cells, for the terminal and for notes. */
export function markdownTable(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}

/** The rows as a Markdown table, for the terminal and for notes. */
export function formatTable(rows: EvalRow[]): string {
  const sizes = Object.keys(rows[0]?.top1 ?? {});
  const head = [
    'condition',
    ...sizes.map((n) => `top-1 @${n}`),
    'EER',
    'false accept',
    'wrongly created',
    'wrong name',
  ];
  return markdownTable(
    head,
    rows.map((r) => [
      r.condition,
      ...sizes.map((n) => pct(r.top1[Number(n)])),
      ...[r.eer, r.falseAccept, r.wronglyCreated, r.wrongName].map(pct),
    ]),
  );
}
