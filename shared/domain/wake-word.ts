/**
 * Wake-word detection on transcripts: pure functions, no I/O.
 *
 * The transcript of "hey Mira" comes back as "Hey, Mira!", "Hi Myra", "Meera", "heymira"... so matching is
 * fuzzy, but only at the start of the utterance (after at most one filler such as "okay" or "um"): Mira
 * mentioned mid-sentence ("I told Mira") is conversation, not a command. Each token is reduced to a rough
 * phonetic key (vowel spellings folded, doubled letters collapsed) and windows of the first tokens are
 * compared to each wake word by normalised Levenshtein similarity.
 */

export const DEFAULT_WAKE_WORDS = ['mira', 'hey mira'] as const;
/** Similarity (1 - distance / longer length) a window must reach; "mirror" scores 0.6, "Myra" 1. */
export const DEFAULT_WAKE_THRESHOLD = 0.8;

export type WakeSpeakers = 'owner' | 'anyone';

export interface WakeWordSettings {
  wakeWords: string[];
  /** Who may wake Mira: the network's owner (person index 1) or anyone. */
  speakers: WakeSpeakers;
  threshold: number;
}

/** Words said before the wake word that do not stop it from counting as the start. */
const FILLER_WORDS = ['ok', 'okay', 'oh', 'um', 'uh', 'uhm', 'erm', 'hmm', 'so', 'well', 'and', 'yo'];

/**
 * The wake-word settings of a network from its `settings` JSON: `wake_words` (array of strings or one
 * string), `wake_word_speakers` ('owner' | 'anyone', default owner), `wake_word_threshold` (0..1).
 */
export function wakeWordSettings(settings: Record<string, unknown> | null | undefined): WakeWordSettings {
  const raw = settings?.wake_words;
  const list = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).filter(
    (w): w is string => typeof w === 'string' && tokens(w).length > 0,
  );
  const threshold = Number(settings?.wake_word_threshold);
  return {
    wakeWords: list.length ? list : [...DEFAULT_WAKE_WORDS],
    speakers: settings?.wake_word_speakers === 'anyone' ? 'anyone' : 'owner',
    threshold: threshold > 0 && threshold <= 1 ? threshold : DEFAULT_WAKE_THRESHOLD,
  };
}

/** Whether this speaker may wake Mira. An unrecognised speaker (no person index) is not the owner. */
export const mayWake = (speakerIndex: number | null | undefined, speakers: WakeSpeakers): boolean =>
  speakers === 'anyone' || speakerIndex === 1;

export interface WakeWordMatch {
  matched: boolean;
  /** The configured wake word that matched. */
  wakeWord?: string;
  /** Similarity of the best window, 0..1. */
  score: number;
  /** The text after the wake word, as transcribed (leading punctuation removed); '' when none. */
  command: string;
}

interface Token {
  key: string;
  end: number;
}

/** Words with their end offsets in the original text, so the command keeps its original spelling. */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const match of text.matchAll(/[\p{L}\p{N}']+/gu)) {
    const key = phoneticKey(match[0]);
    if (key) out.push({ key, end: match.index + match[0].length });
  }
  return out;
}

/** Fold spellings a transcriber uses for the same sound: Mira, Myra, Meera, Mirah, Mirra all give "mira". */
export function phoneticKey(word: string): string {
  return word
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/'/g, '')
    .replace(/ee|ea|ie|y/g, 'i')
    .replace(/([aeiou])h$/, '$1')
    .replace(/(.)\1+/g, '$1');
}

const FILLERS = new Set(FILLER_WORDS.map(phoneticKey));

/**
 * Levenshtein distance, two rows. Hand-written: a dozen lines on words of a few letters, not worth a
 * runtime dependency.
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

export const similarity = (a: string, b: string): number =>
  a.length + b.length === 0 ? 1 : 1 - levenshtein(a, b) / Math.max(a.length, b.length);

/**
 * Does the utterance start with one of the wake words? Windows of the wake word's token count, one fewer
 * and one more (transcribers split and join words: "heymira", "mi ra") are compared with spaces removed.
 */
export function detectWakeWord(
  text: string,
  wakeWords: readonly string[] = DEFAULT_WAKE_WORDS,
  threshold = DEFAULT_WAKE_THRESHOLD,
): WakeWordMatch {
  const words = tokens(text);
  let best: { score: number; wakeWord: string; end: number; size: number } | undefined;
  const starts = words.length > 1 && FILLERS.has(words[0].key) ? [0, 1] : [0];
  for (const wakeWord of wakeWords) {
    const target = tokens(wakeWord)
      .map((t) => t.key)
      .join('');
    const size = tokens(wakeWord).length;
    if (!target) continue;
    for (const start of starts) {
      for (let n = Math.max(1, size - 1); n <= size + 1 && start + n <= words.length; n++) {
        const window = words.slice(start, start + n);
        const score = similarity(window.map((w) => w.key).join(''), target);
        const end = window[window.length - 1].end;
        // Higher score wins; on a tie the window that consumed less, so command words are not eaten.
        if (!best || score > best.score || (score === best.score && end < best.end)) {
          best = { score, wakeWord, end, size: n };
        }
      }
    }
  }
  if (!best || best.score < threshold) return { matched: false, score: best?.score ?? 0, command: '' };
  return {
    matched: true,
    wakeWord: best.wakeWord,
    score: best.score,
    command: text
      .slice(best.end)
      // Separators after the wake word go; opening marks such as ¿ belong to the command.
      .replace(/^[\s,.;:!?\-\u2026]+/u, '')
      .trim(),
  };
}
