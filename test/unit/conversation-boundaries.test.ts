import { describe, expect, it } from 'vitest';
import {
  CONVERSATION_GAP_SECONDS,
  isConversationActive,
  SPEAKER_CHANGE_GAP_SECONDS,
  startsNewConversation,
  type OpenConversation,
} from '../../shared/domain/conversation-boundaries';

const t0 = new Date('2026-01-01T09:00:00Z');
const after = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const latest = (speaker: string | null = 'alice', isActive = true): OpenConversation => ({
  lastInteractionAt: t0,
  lastSpeakerId: speaker,
  isActive,
});

describe('conversation boundaries', () => {
  it('starts a conversation when there is none, or the last one was closed', () => {
    expect(startsNewConversation(undefined, { timestamp: t0, speakerId: 'alice' })).toBe(true);
    expect(startsNewConversation(latest('alice', false), { timestamp: after(1), speakerId: 'alice' })).toBe(
      true,
    );
  });

  it('continues with the same speaker up to 300 s of silence and starts anew beyond', () => {
    expect(
      startsNewConversation(latest(), { timestamp: after(CONVERSATION_GAP_SECONDS), speakerId: 'alice' }),
    ).toBe(false);
    expect(
      startsNewConversation(latest(), { timestamp: after(CONVERSATION_GAP_SECONDS + 1), speakerId: 'alice' }),
    ).toBe(true);
  });

  it('starts anew for a different speaker after more than 150 s, not before', () => {
    expect(
      startsNewConversation(latest(), { timestamp: after(SPEAKER_CHANGE_GAP_SECONDS), speakerId: 'bob' }),
    ).toBe(false);
    expect(
      startsNewConversation(latest(), { timestamp: after(SPEAKER_CHANGE_GAP_SECONDS + 1), speakerId: 'bob' }),
    ).toBe(true);
  });

  it('treats an unknown speaker as no change of speaker', () => {
    expect(startsNewConversation(latest(), { timestamp: after(200), speakerId: null })).toBe(false);
    expect(startsNewConversation(latest(null), { timestamp: after(200), speakerId: 'bob' })).toBe(false);
    expect(startsNewConversation(latest(), { timestamp: after(301), speakerId: null })).toBe(true);
  });

  it('lets a late utterance join the conversation', () => {
    expect(startsNewConversation(latest(), { timestamp: after(-600), speakerId: 'bob' })).toBe(false);
  });

  it('judges a conversation active while its silence is at most 300 s', () => {
    expect(isConversationActive(latest(), after(300))).toBe(true);
    expect(isConversationActive(latest(), after(301))).toBe(false);
    expect(isConversationActive(latest('alice', false), after(1))).toBe(false);
  });
});
