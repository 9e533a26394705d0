import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  analyzeAudio,
  AudioError,
  cosineSimilarity,
  decodeAudio,
  DEFAULT_SPEAKER_MATCH_THRESHOLD,
  detectSpeech,
  modelFiles,
  speakerEmbedding,
  speakerMatchThreshold,
} from '../../../shared/audio/index';
import { encodeWav, fixture, tone } from '../../helpers/audio';
import { resetConfig } from '../../../shared/config';
import { speakerModelCard } from '../../../shared/audio/model-card';

const VOICES = ['a', 'b', 'c'];
const SENTENCES = [1, 2, 3];

async function embed(name: string) {
  const { samples } = await decodeAudio(fixture(name));
  const { segments } = await detectSpeech(samples);
  return speakerEmbedding(samples, segments);
}

describe('speakerEmbedding with the default model', () => {
  it('gives a unit vector of the size its model card states (128 for the trained TDNN)', async () => {
    const e = await embed('voice-a-1.mp3');

    expect(speakerModelCard().embeddingDim).toBe(128);
    expect(e).toHaveLength(128);
    expect(Math.hypot(...e)).toBeCloseTo(1, 5);
  });

  it('scores every same-voice pair above every different-voice pair, split by the default threshold', async () => {
    const embeddings = new Map<string, Float32Array>();
    for (const v of VOICES)
      for (const s of SENTENCES) embeddings.set(`${v}${s}`, await embed(`voice-${v}-${s}.mp3`));

    const same: number[] = [];
    const different: number[] = [];
    const keys = [...embeddings.keys()];
    for (let i = 0; i < keys.length; i++)
      for (let j = i + 1; j < keys.length; j++)
        (keys[i][0] === keys[j][0] ? same : different).push(
          cosineSimilarity(embeddings.get(keys[i])!, embeddings.get(keys[j])!),
        );

    expect(Math.min(...same)).toBeGreaterThan(Math.max(...different));
    expect(Math.min(...same)).toBeGreaterThanOrEqual(DEFAULT_SPEAKER_MATCH_THRESHOLD);
    expect(Math.max(...different)).toBeLessThan(DEFAULT_SPEAKER_MATCH_THRESHOLD);
  });

  it('does not depend on loudness', async () => {
    const { samples } = await decodeAudio(fixture('voice-b-2.mp3'));
    const { segments } = await detectSpeech(samples);

    const a = await speakerEmbedding(samples, segments);
    const b = await speakerEmbedding(
      samples.map((v) => v * 0.1),
      segments,
    );

    expect(cosineSimilarity(a, b)).toBeGreaterThan(0.99);
  });

  it('refuses less than half a second of speech with 422 AUDIO_TOO_SHORT', async () => {
    await expect(speakerEmbedding(new Float32Array(4000))).rejects.toMatchObject({
      status: 422,
      code: 'AUDIO_TOO_SHORT',
    });
  });
});

describe('model files', () => {
  const saved = process.env.SPEAKER_MODEL_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.SPEAKER_MODEL_PATH;
    else process.env.SPEAKER_MODEL_PATH = saved;
    resetConfig();
  });

  it('finds both models without any configuration', () => {
    const files = modelFiles();

    expect(files.vad).toMatch(/silero_vad_v5\.onnx$/);
    expect(files.speaker).toMatch(/mira-speaker-tdnn-v1\.onnx$/);
  });

  it('uses SPEAKER_MODEL_PATH when set and says so when the file is missing', async () => {
    process.env.SPEAKER_MODEL_PATH = '/nonexistent/wespeaker.onnx';
    resetConfig();

    await expect(speakerEmbedding(tone(200, 16000, 1))).rejects.toThrow(/SPEAKER_MODEL_PATH/);
  });

  it('runs whatever model SPEAKER_MODEL_PATH names', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'speaker-')), 'other.onnx');
    copyFileSync(modelFiles().speaker, copy);
    const before = await embed('voice-a-1.mp3');

    process.env.SPEAKER_MODEL_PATH = copy;
    resetConfig();
    const after = await embed('voice-a-1.mp3');

    expect(modelFiles().speaker).toBe(copy);
    expect(cosineSimilarity(before, after)).toBeCloseTo(1, 6);
  });

  it('reads the match threshold from SPEAKER_MATCH_THRESHOLD for other models', () => {
    process.env.SPEAKER_MATCH_THRESHOLD = '0.5';
    resetConfig();
    try {
      expect(speakerMatchThreshold()).toBe(0.5);
    } finally {
      delete process.env.SPEAKER_MATCH_THRESHOLD;
      resetConfig();
    }
    expect(speakerMatchThreshold()).toBe(DEFAULT_SPEAKER_MATCH_THRESHOLD);
  });
});

describe('analyzeAudio', () => {
  it('decodes, finds speech, measures quality and embeds the speaker in one call', async () => {
    const result = await analyzeAudio(fixture('speech-22k.mp3'));

    expect(result.audio).toMatchObject({ format: 'mp3', sampleRateIn: 22050 });
    expect(result.vad.segments.length).toBeGreaterThan(0);
    expect(result.quality.snrDb).toBeGreaterThan(20);
    expect(result.score).toBeGreaterThan(0.5);
    expect(result.embedding).toHaveLength(128);
  });

  it('skips the embedding when there is no speech', async () => {
    const result = await analyzeAudio(fixture('noise.flac'));

    expect(result.vad.speechRatio).toBe(0);
    expect(result.embedding).toBeNull();
  });

  it('passes decoding errors through as AudioErrors', async () => {
    const wav = encodeWav([tone(440, 16000, 2)], { rate: 16000 });

    await expect(analyzeAudio(wav, { maxSeconds: 1 })).rejects.toBeInstanceOf(AudioError);
  });
});

describe('npm run audio', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/audio.ts', ...args], { encoding: 'utf8' });

  it('prints one JSON object for analyze', () => {
    const run = cli('analyze', 'test/fixtures/audio/speech-8k-u8.wav');

    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ format: 'wav', sample_rate_in: 8000, embedding_dim: 128 });
    for (const key of ['duration_s', 'speech_ratio', 'segments', 'snr_db', 'speech_clarity', 'volume_rms'])
      expect(report).toHaveProperty(key);
    expect(report).toHaveProperty('clipping_ratio');
    expect(report).toHaveProperty('score');
  });

  it('prints the cosine for compare', () => {
    const run = cli('compare', 'test/fixtures/audio/voice-c-1.mp3', 'test/fixtures/audio/voice-c-2.mp3');

    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).cosine).toBeGreaterThan(DEFAULT_SPEAKER_MATCH_THRESHOLD);
  });

  it('writes errors to stderr and exits non-zero', () => {
    const run = cli('analyze', 'package.json');

    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/UNSUPPORTED_AUDIO_FORMAT/);
  });
});
