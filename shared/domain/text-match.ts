/**
 * Does a transcript say the text a person was asked to read (voice enrolment)? Pure functions, no I/O.
 * Transcribers differ from a prompt in case, punctuation, accents and the odd misheard word, so texts are
 * normalised first and compared by edit distance, which forgives a letter or a short word.
 */
import { levenshtein } from './wake-word';

/** Below this similarity a transcript is not the expected text: a wrong sentence, or someone else talking. */
export const DEFAULT_TEXT_MATCH_THRESHOLD = 0.75;

/** Lower case, accents and punctuation removed, one space between words ("Hello, Zoë!" -> "hello zoe"). */
export function normaliseText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['\u2019]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** 0..1: one minus the edit distance of the normalised texts over the longer one's length. */
export function textSimilarity(a: string, b: string): number {
  const x = normaliseText(a);
  const y = normaliseText(b);
  if (x.length + y.length === 0) return 1;
  return 1 - levenshtein(x, y) / Math.max(x.length, y.length);
}

export interface TextMatch {
  matches: boolean;
  /** Rounded to three decimals, for answers and logs. */
  similarity: number;
}

export function matchExpectedText(
  expected: string,
  transcript: string,
  threshold = DEFAULT_TEXT_MATCH_THRESHOLD,
): TextMatch {
  const similarity = textSimilarity(expected, transcript);
  // An empty transcript never confirms a non-empty prompt, however short the prompt.
  const matches = normaliseText(transcript) !== '' && similarity >= threshold;
  return { matches, similarity: Math.round(similarity * 1000) / 1000 };
}
