import { describe, expect, it } from 'vitest';
import {
  CONVERSATION_GAP_SECONDS,
  SPEAKER_CHANGE_GAP_SECONDS,
  startsNewConversation,
} from '../../shared/domain/conversation-boundaries';
import {
  MAX_CONVERSATION_TOPICS,
  mergeTopics,
  startsNewConversationByTopic,
  TOPIC_CHANGE_GAP_SECONDS,
  topicRelation,
  topicWords,
  type TopicalConversation,
} from '../../shared/domain/conversation-topics';

const t0 = new Date('2026-01-01T09:00:00Z');
const after = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const latest = (
  topics: string[],
  speaker: string | null = 'alice',
  isActive = true,
): TopicalConversation => ({
  lastInteractionAt: t0,
  lastSpeakerId: speaker,
  isActive,
  topics,
});
const say = (seconds: number, topics: string[], speakerId: string | null = 'alice') => ({
  timestamp: after(seconds),
  speakerId,
  topics,
});

describe('topic words and relations', () => {
  it('folds case, accents, plurals and filler words', () => {
    expect(topicWords('The Dinner Plans')).toEqual(['dinner', 'plan']);
    expect(topicWords('Café-visits')).toEqual(['cafe', 'visit']);
    expect(topicWords('glass')).toEqual(['glass']);
    expect(topicWords('  ')).toEqual([]);
  });

  it('calls topics shared when they have a content word in common', () => {
    expect(topicRelation(['weather forecast'], ['Weather'])).toBe('shared');
    expect(topicRelation(['holiday plans', 'Spain'], ['holidays'])).toBe('shared');
    expect(topicRelation(['football'], ['cooking', 'dinner'])).toBe('different');
  });

  it('knows nothing when either side has no topics', () => {
    expect(topicRelation([], ['weather'])).toBe('unknown');
    expect(topicRelation(['weather'], [])).toBe('unknown');
    expect(topicRelation(['the'], ['weather'])).toBe('unknown');
  });
});

describe('conversation boundaries with topics', () => {
  it('starts a conversation when there is none, or it was closed', () => {
    expect(startsNewConversationByTopic(undefined, say(0, ['weather']))).toBe(true);
    expect(startsNewConversationByTopic(latest(['weather'], 'alice', false), say(1, ['weather']))).toBe(true);
  });

  it('keeps a shared topic across a speaker change, but not beyond the long gap', () => {
    const gap = SPEAKER_CHANGE_GAP_SECONDS + 30;
    expect(startsNewConversation(latest([]), say(gap, [], 'bob'))).toBe(true);
    expect(startsNewConversationByTopic(latest(['holiday']), say(gap, ['holidays'], 'bob'))).toBe(false);
    expect(
      startsNewConversationByTopic(latest(['holiday']), say(CONVERSATION_GAP_SECONDS + 1, ['holiday'])),
    ).toBe(true);
  });

  it('starts a new conversation for a different topic after a moderate pause only', () => {
    expect(
      startsNewConversationByTopic(latest(['football']), say(TOPIC_CHANGE_GAP_SECONDS, ['cooking'])),
    ).toBe(false);
    expect(
      startsNewConversationByTopic(latest(['football']), say(TOPIC_CHANGE_GAP_SECONDS + 1, ['cooking'])),
    ).toBe(true);
  });

  it('falls back to the time rules when topics are missing on either side', () => {
    for (const [conversation, utterance] of [
      [[], ['cooking']],
      [['football'], []],
    ] as const) {
      for (const [seconds, speaker] of [
        [TOPIC_CHANGE_GAP_SECONDS + 10, 'alice'],
        [SPEAKER_CHANGE_GAP_SECONDS + 10, 'bob'],
        [CONVERSATION_GAP_SECONDS + 10, 'alice'],
      ] as const) {
        expect(
          startsNewConversationByTopic(latest([...conversation]), say(seconds, [...utterance], speaker)),
        ).toBe(startsNewConversation(latest([]), say(seconds, [], speaker)));
      }
    }
  });

  it('lets a late utterance (negative gap) join whatever its topic', () => {
    expect(startsNewConversationByTopic(latest(['football']), say(-30, ['cooking']))).toBe(false);
  });
});

describe('mergeTopics', () => {
  it('puts new topics first and drops duplicates by their content words', () => {
    expect(mergeTopics(['holiday plans', 'weather'], ['Holidays', 'Spain', 'the weather'])).toEqual([
      'Holidays',
      'Spain',
      'the weather',
      'holiday plans',
    ]);
  });

  it('keeps at most the recent topics', () => {
    const many = Array.from({ length: 30 }, (_, i) => `topic ${i}`);
    expect(mergeTopics(many, ['new one'])).toHaveLength(MAX_CONVERSATION_TOPICS);
    expect(mergeTopics(many, ['new one'])[0]).toBe('new one');
    expect(mergeTopics([], ['  ', 'the'])).toEqual([]);
  });
});
