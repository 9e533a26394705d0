import { describe, expect, it } from 'vitest';
import {
  foldSample,
  normaliseClarity,
  normaliseLocation,
  normaliseRssi,
  normaliseSnr,
  normaliseVolume,
  SCORE_WEIGHTS,
  streamScore,
  UNKNOWN_COMPONENT_SCORE,
} from '../../shared/domain/stream-score';

describe('stream score', () => {
  it('weighs the five components as the Python backend did', () => {
    expect(SCORE_WEIGHTS).toEqual({ snr: 0.3, speechClarity: 0.3, volume: 0.1, location: 0.15, rssi: 0.15 });
    expect(Object.values(SCORE_WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
  });

  it('normalises SNR 0..40 dB and clarity 0..1 onto 0..100, clamped', () => {
    expect([normaliseSnr(-5), normaliseSnr(0), normaliseSnr(20), normaliseSnr(40), normaliseSnr(60)]).toEqual(
      [0, 0, 50, 100, 100],
    );
    expect([normaliseClarity(0), normaliseClarity(0.25), normaliseClarity(1), normaliseClarity(3)]).toEqual([
      0, 25, 100, 100,
    ]);
    expect(normaliseSnr(Number.NaN)).toBe(0);
  });

  it('scores volume by dBFS: silence 0, comfortable 100, clipping penalised', () => {
    expect(normaliseVolume(0)).toBe(0);
    expect(normaliseVolume(0.001)).toBeCloseTo(0); // -60 dBFS
    expect(normaliseVolume(0.01)).toBeCloseTo(50); // -40 dBFS
    expect(normaliseVolume(0.1)).toBe(100); // -20 dBFS
    expect(normaliseVolume(0.3)).toBe(100); // about -10 dBFS
    expect(normaliseVolume(1)).toBeCloseTo(50); // 0 dBFS
    expect(normaliseVolume(0.9)).toBeLessThan(100);
  });

  it('maps RSSI -100..-30 dBm and location accuracy 100..5 m onto 0..100, unknown as neutral', () => {
    expect([normaliseRssi(-110), normaliseRssi(-100), normaliseRssi(-65), normaliseRssi(-30)]).toEqual([
      0, 0, 50, 100,
    ]);
    expect(normaliseRssi(null)).toBe(UNKNOWN_COMPONENT_SCORE);
    expect(normaliseLocation({ latitude: 0, longitude: 0, accuracy: 3 })).toBe(100);
    expect(normaliseLocation({ latitude: 0, longitude: 0, accuracy: 100 })).toBe(0);
    expect(normaliseLocation({ latitude: 0, longitude: 0, accuracy: 52.5 })).toBeCloseTo(50);
    expect(normaliseLocation({ latitude: 0, longitude: 0 })).toBe(UNKNOWN_COMPONENT_SCORE);
    expect(normaliseLocation(null)).toBe(UNKNOWN_COMPONENT_SCORE);
  });

  it('combines the components into a 0..100 score', () => {
    const perfect = streamScore({
      snr: 40,
      speechClarity: 1,
      volumeLevel: 0.1,
      location: { latitude: 0, longitude: 0, accuracy: 1 },
      rssi: -30,
    });
    expect(perfect).toBe(100);
    expect(streamScore({ snr: 0, speechClarity: 0, volumeLevel: 0, location: null, rssi: -100 })).toBe(7.5);
    // 0.3*50 + 0.3*50 + 0.1*100 + 0.15*50 + 0.15*50
    expect(streamScore({ snr: 20, speechClarity: 0.5, volumeLevel: 0.1 })).toBe(55);
  });

  it('ranks a clean, close device above a noisy, far one', () => {
    const near = streamScore({ snr: 25, speechClarity: 0.8, volumeLevel: 0.1, rssi: -45 });
    const far = streamScore({ snr: 8, speechClarity: 0.5, volumeLevel: 0.02, rssi: -85 });
    expect(near).toBeGreaterThan(far);
  });

  it('averages samples over a window, so one outlier moves the value only a little', () => {
    expect(foldSample(0, 20, 0)).toBe(20);
    expect(foldSample(20, 10, 1)).toBe(15);
    let value = 20;
    for (let i = 1; i < 50; i++) value = foldSample(value, 20, i);
    expect(foldSample(value, 0, 50)).toBeCloseTo(18);
  });
});
