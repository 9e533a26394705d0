/**
 * Topic continuity between utterances, on top of the time rules of ./conversation-boundaries: the
 * enrichment of every utterance names a few short topics, and whether they overlap with the conversation's
 * recent topics tells "still talking about the same thing" from "something else now".
 *
 * - A shared topic keeps the conversation within the long gap, even across a speaker change (someone
 *   answering a question after a pause is still in it).
 * - Different topics after a moderate silence (TOPIC_CHANGE_GAP_SECONDS) start a new conversation.
 * - Without topics on either side (a client transcript, an utterance the model found no topic in) there is
 *   no evidence either way, and the time rules alone decide.
 */
import {
  CONVERSATION_GAP_SECONDS,
  gapSeconds,
  startsNewConversation,
  type OpenConversation,
  type Utterance,
} from './conversation-boundaries';

/** Silence after which an utterance on different topics starts a new conversation. */
export const TOPIC_CHANGE_GAP_SECONDS = 60;
/** How many recent topics a conversation keeps for the comparison. */
export const MAX_CONVERSATION_TOPICS = 12;

/** Words that carry no topic on their own ("the weather" and "weather" are one topic). */
const STOP_WORDS = new Set([
  'a',
  'an',
  'and',
  'the',
  'of',
  'to',
  'for',
  'in',
  'on',
  'at',
  'with',
  'about',
  'my',
  'our',
  'your',
  'their',
  'his',
  'her',
  'its',
  'some',
  'general',
  'other',
]);

/**
 * The content words of a topic, lower-cased, accents folded and a plural "s" dropped, so "Dinner plans",
 * "dinner-plan" and "dinner plan" share their words.
 */
export function topicWords(topic: string): string[] {
  return (
    topic
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  )
    .filter((word) => !STOP_WORDS.has(word))
    .map((word) =>
      word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word,
    );
}

export type TopicRelation = 'shared' | 'different' | 'unknown';

/** Whether two topic lists share a content word; `unknown` when either has none. */
export function topicRelation(a: readonly string[], b: readonly string[]): TopicRelation {
  const left = new Set(a.flatMap(topicWords));
  const right = new Set(b.flatMap(topicWords));
  if (left.size === 0 || right.size === 0) return 'unknown';
  for (const word of right) if (left.has(word)) return 'shared';
  return 'different';
}

export interface TopicalConversation extends OpenConversation {
  /** The conversation's recent topics, newest first. */
  topics: readonly string[];
}

export interface TopicalUtterance extends Utterance {
  topics: readonly string[];
}

/**
 * Whether `utterance` opens a new conversation rather than continuing `latest`, by time, speaker and topic.
 * Reduces to `startsNewConversation` when either side has no topics.
 */
export function startsNewConversationByTopic(
  latest: TopicalConversation | undefined,
  utterance: TopicalUtterance,
): boolean {
  if (!latest || !latest.isActive) return true;
  const gap = gapSeconds(latest, utterance);
  if (gap > CONVERSATION_GAP_SECONDS) return true;
  const relation = topicRelation(latest.topics, utterance.topics);
  if (relation === 'shared') return false;
  if (relation === 'different' && gap > TOPIC_CHANGE_GAP_SECONDS) return true;
  return startsNewConversation(latest, utterance);
}

/**
 * The conversation's topics after one more utterance: the new ones first, duplicates (same content words)
 * dropped, at most MAX_CONVERSATION_TOPICS, so the comparison follows where the talk went.
 */
export function mergeTopics(current: readonly string[], added: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const topic of [...added, ...current]) {
    const key = topicWords(topic).join(' ');
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push(topic.trim());
    if (out.length === MAX_CONVERSATION_TOPICS) break;
  }
  return out;
}
