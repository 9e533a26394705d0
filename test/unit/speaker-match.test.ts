import { describe, expect, it } from 'vitest';
import { cosine, matchSpeaker, updateVoiceprint } from '../../shared/domain/speaker-match';

describe('matchSpeaker', () => {
  const prints = [
    { personId: 'alice', index: 1, embedding: [1, 0, 0], sampleCount: 3 },
    { personId: 'bob', index: 2, embedding: [0, 1, 0], sampleCount: 1 },
  ];

  it('picks the most similar person at or above the threshold', () => {
    expect(matchSpeaker([0.9, 0.1, 0], prints, 0.8)).toEqual({
      personId: 'alice',
      index: 1,
      similarity: expect.any(Number),
    });
    expect(matchSpeaker([0.2, 0.9, 0.1], prints, 0.8)?.personId).toBe('bob');
  });

  it('matches nobody when every similarity is below the threshold', () => {
    expect(matchSpeaker([0, 0, 1], prints, 0.5)).toBeUndefined();
    expect(matchSpeaker([0.7, 0.7, 0], prints, 0.8)).toBeUndefined();
  });

  it('never matches a voiceprint of another dimension', () => {
    expect(matchSpeaker([1, 0], prints, 0)).toBeUndefined();
    expect(cosine([1, 0], [1, 0, 0])).toBe(-1);
  });
});

describe('updateVoiceprint', () => {
  it('starts from the first normalised sample', () => {
    expect(updateVoiceprint(null, 0, [3, 4])).toEqual({ embedding: [0.6, 0.8], sampleCount: 1 });
  });

  it('keeps a running mean where each sample weighs the same', () => {
    const once = updateVoiceprint([1, 0], 1, [0, 10]);
    expect(once.sampleCount).toBe(2);
    expect(once.embedding[0]).toBeCloseTo(0.5);
    expect(once.embedding[1]).toBeCloseTo(0.5);
  });

  it('replaces a voiceprint made by another model', () => {
    expect(updateVoiceprint([1, 0, 0], 5, [0, 2])).toEqual({ embedding: [0, 1], sampleCount: 1 });
  });
});
