import { describe, expect, it } from 'vitest';
import {
  audioQualityScore,
  decodeAudio,
  detectSpeech,
  qualityMetrics,
  segmentsFromProbabilities,
} from '../../../shared/audio/index';
import { fixture, whiteNoise } from '../../helpers/audio';

async function analyse(samples: Float32Array) {
  const vad = await detectSpeech(samples);
  const quality = qualityMetrics(samples, vad);
  return { vad, quality, score: audioQualityScore(quality) };
}

const load = async (name: string) =>
  (await decodeAudio(fixture(name), { rawPcm16: name.endsWith('.pcm') })).samples;

/** Speech with white noise at a given RMS added (1 s of noise-only lead-in, as a room before a talker). */
async function noisySpeech(noiseRms: number) {
  const speech = await load('speech-16k.pcm');
  const out = new Float32Array(16000 + speech.length);
  out.set(speech, 16000);
  const noise = whiteNoise(out.length, noiseRms, 3);
  return out.map((v, i) => v + noise[i]);
}

describe('detectSpeech (Silero VAD v5)', () => {
  it('finds speech in speech and none in silence or noise', async () => {
    const speech = await analyse(await load('voice-a-1.mp3'));
    const silence = await analyse(await load('silence.flac'));
    const noise = await analyse(await load('noise.flac'));

    expect(speech.vad.speechRatio).toBeGreaterThan(0.6);
    expect(speech.vad.segments.length).toBeGreaterThan(0);
    expect(silence.vad).toMatchObject({ segments: [], speechRatio: 0 });
    expect(noise.vad).toMatchObject({ segments: [], speechRatio: 0 });
  });

  it('places the segments inside the audio, in order and apart', async () => {
    const samples = await load('speech-22k.mp3');

    const { segments } = await detectSpeech(samples);

    const duration = samples.length / 16000;
    segments.forEach((s, i) => {
      expect(s.startS).toBeGreaterThanOrEqual(0);
      expect(s.endS).toBeLessThanOrEqual(duration);
      expect(s.endS).toBeGreaterThan(s.startS);
      if (i > 0) expect(s.startS).toBeGreaterThanOrEqual(segments[i - 1].endS);
    });
  });

  it('still hears very quiet speech', async () => {
    const { vad } = await analyse(await load('speech-quiet.flac'));

    expect(vad.speechRatio).toBeGreaterThan(0.3);
  });

  it('answers an empty signal with no segments', async () => {
    await expect(detectSpeech(new Float32Array(0))).resolves.toMatchObject({ segments: [], speechRatio: 0 });
  });
});

describe('segmentsFromProbabilities', () => {
  const frames = (...ps: number[]) => Float32Array.from(ps);

  it('drops bursts shorter than the minimum speech duration', () => {
    // 512-sample frames: one frame is 32 ms, below the 250 ms minimum.
    expect(segmentsFromProbabilities(frames(0, 0.9, 0, 0, 0, 0, 0, 0), 8 * 512)).toEqual([]);
  });

  it('bridges pauses shorter than the minimum silence and pads the result', () => {
    const p = frames(0, ...Array(10).fill(0.9), 0.1, 0.1, ...Array(10).fill(0.9), ...Array(10).fill(0));

    const segments = segmentsFromProbabilities(p, p.length * 512);

    expect(segments).toEqual([{ startS: 0.002, endS: 0.766 }]);
  });
});

describe('qualityMetrics', () => {
  it('orders SNR by the noise added to the same speech', async () => {
    const quiet = await analyse(await noisySpeech(0.002));
    const moderate = await analyse(await noisySpeech(0.01));
    const loud = await analyse(await noisySpeech(0.05));

    expect(quiet.quality.snrDb).toBeGreaterThan(moderate.quality.snrDb + 8);
    expect(moderate.quality.snrDb).toBeGreaterThan(loud.quality.snrDb + 8);
    expect(quiet.quality.noiseLevel).toBeLessThan(moderate.quality.noiseLevel);
    expect(quiet.score).toBeGreaterThan(moderate.score);
    expect(moderate.score).toBeGreaterThan(loud.score);
  });

  it('measures SNR within a few dB of the truth', async () => {
    const samples = await noisySpeech(0.01);
    const speech = await load('speech-16k.pcm');
    const { vad, quality } = await analyse(samples);
    // Truth: the speech power inside the detected segments over the noise power.
    let power = 0;
    let n = 0;
    for (const s of vad.segments)
      for (let i = Math.round(s.startS * 16000); i < Math.round(s.endS * 16000); i++, n++)
        power += (speech[i - 16000] ?? 0) ** 2;
    const truth = 10 * Math.log10(power / n / 0.01 ** 2);

    expect(Math.abs(quality.snrDb - truth)).toBeLessThan(3);
  });

  it('reports clipping for clipped speech and a low level for quiet speech', async () => {
    const clean = await analyse(await load('voice-a-1.mp3'));
    const clipped = await analyse(await load('speech-clipped.flac'));
    const quiet = await analyse(await load('speech-quiet.flac'));

    expect(clean.quality.clippingRatio).toBe(0);
    expect(clipped.quality.clippingRatio).toBeGreaterThan(0.02);
    expect(quiet.quality.volumeDbfs).toBeLessThan(clean.quality.volumeDbfs - 30);
    expect(clipped.score).toBeLessThan(clean.score);
    expect(quiet.score).toBeLessThan(clean.score);
  });

  it('rates speech clearer than noise', async () => {
    const speech = await analyse(await load('voice-b-1.mp3'));
    const noise = await analyse(await load('noise.flac'));

    expect(speech.quality.speechClarity).toBeGreaterThan(0.4);
    expect(noise.quality.speechClarity).toBeLessThan(0.15);
    expect(noise.quality.spectralFlatness).toBeGreaterThan(speech.quality.spectralFlatness);
    expect(noise.score).toBeLessThan(0.3);
  });
});
