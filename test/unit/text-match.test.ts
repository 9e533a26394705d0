import { describe, expect, it } from 'vitest';
import { matchExpectedText, normaliseText, textSimilarity } from '../../shared/domain/text-match';

describe('normaliseText', () => {
  it('drops case, accents and punctuation and keeps one space between words', () => {
    expect(normaliseText('  Hello, Zoë!  How’s   it going? ')).toBe('hello zoe hows it going');
  });

  it('keeps digits and letters of other scripts', () => {
    expect(normaliseText('Straße 12, Köln')).toBe('straße 12 koln');
    expect(normaliseText('Привет, мир')).toBe('привет мир');
  });
});

describe('textSimilarity', () => {
  it('is 1 for texts that differ only in case and punctuation', () => {
    expect(textSimilarity('The quick brown fox.', 'the quick, brown fox')).toBe(1);
  });

  it('stays high for a misheard word and is low for another sentence', () => {
    expect(textSimilarity('The quick brown fox jumps', 'The quick brown fox jumped')).toBeGreaterThan(0.9);
    expect(textSimilarity('The quick brown fox jumps', 'Please turn off the lights')).toBeLessThan(0.5);
  });

  it('is 1 for two empty texts', () => {
    expect(textSimilarity('', '...')).toBe(1);
  });
});

describe('matchExpectedText', () => {
  it('accepts a transcript that says the expected text', () => {
    expect(matchExpectedText('My voice is my passport.', 'my voice is my passport')).toEqual({
      matches: true,
      similarity: 1,
    });
  });

  it('refuses a different sentence', () => {
    const result = matchExpectedText('My voice is my passport', 'What is the weather like today');
    expect(result.matches).toBe(false);
    expect(result.similarity).toBeLessThan(0.75);
  });

  it('refuses an empty transcript', () => {
    expect(matchExpectedText('Hi', '').matches).toBe(false);
  });

  it('uses the threshold it is given', () => {
    expect(matchExpectedText('abcd', 'abcx', 0.7).matches).toBe(true);
    expect(matchExpectedText('abcd', 'abcx', 0.8).matches).toBe(false);
  });
});
