import { describe, expect, it } from 'vitest';
import { AudioError, decodeAudio } from '../../../shared/audio/index';
import { HttpError } from '../../../shared/errors';
import { encodePcm16, encodeWav, fixture, prng, tone } from '../../helpers/audio';

const rejection = async (bytes: Uint8Array, options = {}) => {
  try {
    await decodeAudio(bytes, options);
  } catch (error) {
    return error as AudioError;
  }
  throw new Error('expected the audio to be rejected');
};

describe('decodeAudio: formats', () => {
  it.each([
    ['speech-22k.mp3', 'mp3', 22050, 1],
    ['voice-b-1.mp3', 'mp3', 16000, 1],
    ['speech-44k-stereo-24bit.flac', 'flac', 44100, 2],
    ['silence.flac', 'flac', 16000, 1],
    ['speech-8k-u8.wav', 'wav', 8000, 1],
  ])('decodes %s to 16 kHz mono', async (name, format, rate, channels) => {
    const decoded = await decodeAudio(fixture(name));

    expect(decoded).toMatchObject({ format, sampleRateIn: rate, channelsIn: channels });
    expect(decoded.durationS).toBeGreaterThan(0.9);
    expect(decoded.samples.length).toBe(Math.floor(decoded.durationS * 16000));
    expect(decoded.samples.every((v) => Math.abs(v) <= 1)).toBe(true);
  });

  it('reads raw PCM16 16 kHz mono when told to', async () => {
    const bytes = fixture('speech-16k.pcm');

    const decoded = await decodeAudio(bytes, { rawPcm16: true });

    expect(decoded).toMatchObject({ format: 'pcm16', sampleRateIn: 16000, channelsIn: 1, durationS: 1.5 });
    expect(decoded.samples[100]).toBeCloseTo(bytes.readInt16LE(200) / 32768, 6);
  });

  it.each([
    { bits: 8 as const, rate: 8000 },
    { bits: 16 as const, rate: 16000 },
    { bits: 16 as const, rate: 48000, channels: 2 },
    { bits: 24 as const, rate: 44100 },
    { bits: 32 as const, rate: 32000 },
    { bits: 32 as const, rate: 22050, float: true },
    { bits: 64 as const, rate: 16000, float: true },
    { bits: 16 as const, rate: 16000, extensible: true },
    { bits: 32 as const, rate: 48000, channels: 2, float: true, extensible: true },
  ])('decodes WAV %o with its level and length intact', async (spec) => {
    const channels = spec.channels ?? 1;
    const x = tone(440, spec.rate, 0.5, 0.5);
    const wav = encodeWav(
      Array.from({ length: channels }, () => x),
      { ...spec, channels },
    );

    const decoded = await decodeAudio(wav);

    expect(decoded).toMatchObject({
      format: 'wav',
      sampleRateIn: spec.rate,
      channelsIn: channels,
      durationS: 0.5,
    });
    expect(decoded.samples.length).toBe(8000);
    const peak = decoded.samples.subarray(1000, 7000).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.48);
    expect(peak).toBeLessThan(0.52);
  });

  it('averages stereo channels into mono', async () => {
    const left = tone(440, 16000, 0.2, 0.5);
    const right = left.map((v) => -v);

    const decoded = await decodeAudio(encodeWav([left, right], { rate: 16000 }));

    expect(decoded.samples.every((v) => Math.abs(v) < 1e-4)).toBe(true);
  });
});

describe('decodeAudio: rejections', () => {
  it('answers 400 EMPTY_AUDIO for no bytes', async () => {
    const error = await rejection(new Uint8Array(0));

    expect(error).toBeInstanceOf(AudioError);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 400, code: 'EMPTY_AUDIO' });
    expect(error.toBody()).toMatchObject({ error_code: 'EMPTY_AUDIO', detail: 'The audio is empty' });
  });

  it('answers 413 AUDIO_TOO_LARGE above the byte limit, before decoding anything', async () => {
    const error = await rejection(fixture('speech-22k.mp3'), { maxBytes: 1000 });

    expect(error).toMatchObject({ status: 413, code: 'AUDIO_TOO_LARGE' });
  });

  it('keeps 4 MB as the default byte limit', async () => {
    const error = await rejection(new Uint8Array(4 * 1024 * 1024 + 1));

    expect(error.code).toBe('AUDIO_TOO_LARGE');
  });

  it.each([
    ['a WAV (from its header)', () => encodeWav([tone(440, 8000, 2)], { rate: 8000 }), {}],
    ['an MP3 (while decoding)', () => fixture('voice-a-1.mp3'), {}],
    ['a FLAC (while decoding)', () => fixture('silence.flac'), {}],
    ['raw PCM16', () => encodePcm16(new Float32Array(32000)), { rawPcm16: true }],
  ])('answers 413 AUDIO_TOO_LONG for %s over the duration limit', async (_name, make, options) => {
    const error = await rejection(make(), { maxSeconds: 1, ...options });

    expect(error).toMatchObject({ status: 413, code: 'AUDIO_TOO_LONG' });
  });

  it('refuses a FLAC decompression bomb (10 min of silence in 11 KB) whether or not it declares its length', async () => {
    const bomb = fixture('silence-10min.flac');
    const hidden = Buffer.from(bomb);
    hidden.fill(0, 8 + 13, 8 + 18); // STREAMINFO's total-sample count: 0 means "unknown"
    hidden[8 + 13] = bomb[8 + 13] & 0xf0;

    const declared = await rejection(bomb);
    const started = Date.now();
    const undeclared = await rejection(hidden);

    expect(declared).toMatchObject({ status: 413, code: 'AUDIO_TOO_LONG' });
    expect(undeclared).toMatchObject({ status: 413, code: 'AUDIO_TOO_LONG' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses from its header a FLAC that declares 8 channels at 192 kHz for 60 s, before decoding it', async () => {
    // The reliability report's bomb: a few KB that would decode to 92 million samples (600 MB).
    const bomb = Buffer.from(fixture('silence-10min.flac'));
    const s = 8; // STREAMINFO: rate (20 bits), channels - 1 (3), bits - 1 (5), total samples (36)
    const rate = 192_000;
    const total = 60 * rate;
    const bitsMinusOne = ((bomb[s + 12] & 0x01) << 4) | (bomb[s + 13] >> 4);
    bomb[s + 10] = (rate >> 12) & 0xff;
    bomb[s + 11] = (rate >> 4) & 0xff;
    bomb[s + 12] = ((rate & 0x0f) << 4) | (7 << 1) | (bitsMinusOne >> 4);
    bomb[s + 13] = ((bitsMinusOne & 0x0f) << 4) | Math.floor(total / 2 ** 32);
    bomb.writeUInt32BE(total >>> 0, s + 14);

    const error = await rejection(bomb);

    // AUDIO_TOO_LARGE comes from the header check: decoding the (really 16 kHz mono) frames would have
    // stopped at the duration limit with AUDIO_TOO_LONG instead.
    expect(error).toMatchObject({ status: 413, code: 'AUDIO_TOO_LARGE' });
    expect(error.message).toContain('92160000 samples');
  });

  it('keeps 60 s as the default duration limit', async () => {
    const header = encodeWav([new Float32Array(1)], { rate: 8000, bits: 8 });
    // A WAV whose header promises 61 s: rejected from the header alone.
    const wav = Buffer.concat([header, Buffer.alloc(61 * 8000)]);
    wav.writeUInt32LE(61 * 8000 + 1, 40);

    const error = await rejection(wav);

    expect(error.code).toBe('AUDIO_TOO_LONG');
  });

  it.each([
    ['random bytes', Buffer.from('this is certainly not audio, just some text')],
    ['an Ogg stream', Buffer.concat([Buffer.from('OggS'), Buffer.alloc(100)])],
    [
      'an MP4 file',
      Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A '), Buffer.alloc(100)]),
    ],
    ['AIFF', Buffer.concat([Buffer.from('FORM'), Buffer.alloc(100)])],
  ])('answers 415 UNSUPPORTED_AUDIO_FORMAT for %s', async (_name, bytes) => {
    const error = await rejection(bytes);

    expect(error).toMatchObject({ status: 415, code: 'UNSUPPORTED_AUDIO_FORMAT' });
  });

  it.each([
    ['ADPCM', (w: Buffer) => w.writeUInt16LE(0x11, 20)],
    ['12-bit PCM', (w: Buffer) => w.writeUInt16LE(12, 34)],
    ['65535 channels', (w: Buffer) => w.writeUInt16LE(65535, 22)],
    ['a 1 Hz sample rate', (w: Buffer) => w.writeUInt32LE(1, 24)],
  ])('answers 415 for a WAV with %s', async (_name, corrupt) => {
    const wav = encodeWav([tone(440, 16000, 0.1)], { rate: 16000 });
    corrupt(wav);

    const error = await rejection(wav);

    expect(error).toMatchObject({ status: 415, code: 'UNSUPPORTED_AUDIO_FORMAT' });
  });

  it.each([
    ['a WAV cut short', () => encodeWav([tone(440, 16000, 0.5)], { rate: 16000 }).subarray(0, 5000)],
    ['a WAV header alone', () => encodeWav([tone(440, 16000, 0.5)], { rate: 16000 }).subarray(0, 44)],
    ['RIFF/WAVE magic alone', () => Buffer.from('RIFF\x24\x00\x00\x00WAVE', 'latin1')],
    [
      'a WAV with a zero block size',
      () => {
        const w = encodeWav([tone(440, 16000, 0.1)], { rate: 16000 });
        w.writeUInt16LE(0, 32);
        return w;
      },
    ],
    [
      'an ID3 tag and no MP3 frames',
      () => Buffer.concat([Buffer.from('ID3\x03\0\0\0\0\0\x10', 'latin1'), Buffer.alloc(2000)]),
    ],
    ['a FLAC signature alone', () => Buffer.from('fLaC')],
    ['a FLAC header cut after 100 bytes', () => fixture('silence.flac').subarray(0, 100)],
  ])('answers 422 CORRUPT_AUDIO for %s', async (_name, make) => {
    const error = await rejection(make());

    expect(error).toMatchObject({ status: 422, code: 'CORRUPT_AUDIO' });
  });
});

describe('decodeAudio: fuzzing', () => {
  const sources = ['speech-22k.mp3', 'speech-8k-u8.wav', 'speech-44k-stereo-24bit.flac'].map(fixture);
  const wav = encodeWav([tone(300, 16000, 0.3)], { rate: 16000, bits: 24 });

  /** Decodes and insists on one of two outcomes: audio, or an AudioError. Anything else fails the test. */
  async function survives(bytes: Uint8Array) {
    try {
      const decoded = await decodeAudio(bytes, { maxSeconds: 10 });
      expect(decoded.samples.every(Number.isFinite)).toBe(true);
      return 'decoded';
    } catch (error) {
      if (!(error instanceof AudioError)) throw error;
      return error.code;
    }
  }

  it('never crashes or hangs on random, truncated or bit-flipped input', async () => {
    const rand = prng(42);
    const started = Date.now();
    const outcomes = new Map<string, number>();
    const count = (o: string) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    const magics = ['RIFF\0\0\0\0WAVEfmt ', 'fLaC', 'ID3\x03\0\0\0\0\0\x10', '\xff\xfb\x90\x64'];

    for (let i = 0; i < 60; i++) {
      // Random bytes behind each format's magic, so the fuzz reaches the decoders, not just the sniffer.
      const magic = Buffer.from(magics[i % magics.length], 'latin1');
      const body = Buffer.from(
        Array.from({ length: Math.floor(rand() * 4000) }, () => Math.floor(rand() * 256)),
      );
      count(await survives(Buffer.concat([magic, body])));
    }
    for (const source of [...sources, wav]) {
      for (let i = 0; i < 12; i++)
        count(await survives(source.subarray(0, Math.floor(rand() * source.length))));
      for (let i = 0; i < 12; i++) {
        const flipped = Buffer.from(source);
        for (let k = 0; k < 20; k++)
          flipped[Math.floor(rand() * flipped.length)] ^= 1 << Math.floor(rand() * 8);
        count(await survives(flipped));
      }
    }

    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(60 + 4 * 24);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
