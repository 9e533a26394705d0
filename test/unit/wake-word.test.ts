import { describe, expect, it } from 'vitest';
import {
  detectWakeWord,
  levenshtein,
  mayWake,
  phoneticKey,
  wakeWordSettings,
} from '../../shared/domain/wake-word';

describe('detectWakeWord', () => {
  it.each([
    ['Mira, what time is it?', 'what time is it?'],
    ['hey Mira what time is it', 'what time is it'],
    ['Hey, Mira! What time is it?', 'What time is it?'],
    ['HEY MIRA... turn on the lights', 'turn on the lights'],
    ['Myra, set a reminder', 'set a reminder'],
    ['Meera set a reminder', 'set a reminder'],
    ['Hi Mirah, how are you', 'how are you'],
    ['Heymira, stop', 'stop'],
    ['Okay Mira, what is on my list?', 'what is on my list?'],
    ['Mirá, ¿qué hora es?', '¿qué hora es?'],
  ])('hears the wake word in %j and keeps the command %j', (text, command) => {
    const result = detectWakeWord(text);

    expect(result.matched).toBe(true);
    expect(result.command).toBe(command);
  });

  it('matches a bare wake word with an empty command', () => {
    expect(detectWakeWord('Mira.')).toMatchObject({ matched: true, command: '' });
  });

  it.each([
    'The admiral arrived',
    'Look in the mirror',
    'Mirror, mirror on the wall',
    'I told Mira yesterday about it',
    'Where is Mira?',
    'What a miracle',
    'Mia, dinner is ready',
    '',
    '...',
  ])('stays asleep for %j', (text) => {
    expect(detectWakeWord(text).matched).toBe(false);
  });

  it('uses the wake words given, e.g. a network that renamed its assistant', () => {
    expect(detectWakeWord('Jarvis, lights on', ['jarvis']).command).toBe('lights on');
    expect(detectWakeWord('Mira, lights on', ['jarvis']).matched).toBe(false);
  });

  it('reports which wake word matched and how well', () => {
    expect(detectWakeWord('hey mira hello')).toMatchObject({ wakeWord: 'hey mira', score: 1 });
    expect(detectWakeWord('mira hello')).toMatchObject({ wakeWord: 'mira', score: 1 });
  });

  it('honours a stricter threshold', () => {
    expect(detectWakeWord('Amira, hello', ['mira'], 0.8).matched).toBe(true);
    expect(detectWakeWord('Amira, hello', ['mira'], 0.95).matched).toBe(false);
  });
});

describe('wake-word helpers', () => {
  it('folds spellings of the same sound', () => {
    expect(new Set(['Mira', 'Myra', 'Meera', 'Mirah', 'Mirra', 'MÍRA'].map(phoneticKey))).toEqual(
      new Set(['mira']),
    );
  });

  it('computes edit distance', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('mira', 'mira')).toBe(0);
  });

  it('reads settings with defaults', () => {
    expect(wakeWordSettings({})).toEqual({
      wakeWords: ['mira', 'hey mira'],
      speakers: 'owner',
      threshold: 0.8,
    });
    expect(
      wakeWordSettings({
        wake_words: ['computer', 42, ''],
        wake_word_speakers: 'anyone',
        wake_word_threshold: 0.9,
      }),
    ).toEqual({ wakeWords: ['computer'], speakers: 'anyone', threshold: 0.9 });
    expect(
      wakeWordSettings({ wake_words: 'jarvis', wake_word_speakers: 'nobody', wake_word_threshold: 7 }),
    ).toEqual({
      wakeWords: ['jarvis'],
      speakers: 'owner',
      threshold: 0.8,
    });
    expect(wakeWordSettings(null).wakeWords).toEqual(['mira', 'hey mira']);
  });

  it('lets only the owner wake Mira by default, anyone when the network says so', () => {
    expect(mayWake(1, 'owner')).toBe(true);
    expect(mayWake(2, 'owner')).toBe(false);
    expect(mayWake(null, 'owner')).toBe(false);
    expect(mayWake(2, 'anyone')).toBe(true);
    expect(mayWake(undefined, 'anyone')).toBe(true);
  });
});
