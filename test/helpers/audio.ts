/** Audio test helpers: fixtures, a small WAV writer for every PCM layout, deterministic noise. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'audio');
export const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

export interface WavSpec {
  rate: number;
  channels?: number;
  bits?: 8 | 16 | 24 | 32 | 64;
  float?: boolean;
  /** Write WAVE_FORMAT_EXTENSIBLE instead of a plain format tag. */
  extensible?: boolean;
}

/** Encodes planar samples in [-1, 1] (one array per channel) as a WAV file. */
export function encodeWav(channels: Float32Array[], spec: WavSpec): Buffer {
  const bits = spec.bits ?? 16;
  const nCh = channels.length;
  const frames = channels[0].length;
  const bytesPer = bits / 8;
  const dataSize = frames * nCh * bytesPer;
  const fmtSize = spec.extensible ? 40 : 16;
  const buf = Buffer.alloc(12 + 8 + fmtSize + 8 + dataSize);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(buf.length - 8, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(fmtSize, 16);
  const tag = spec.float ? 3 : 1;
  buf.writeUInt16LE(spec.extensible ? 0xfffe : tag, 20);
  buf.writeUInt16LE(nCh, 22);
  buf.writeUInt32LE(spec.rate, 24);
  buf.writeUInt32LE(spec.rate * nCh * bytesPer, 28);
  buf.writeUInt16LE(nCh * bytesPer, 32);
  buf.writeUInt16LE(bits, 34);
  if (spec.extensible) {
    buf.writeUInt16LE(22, 36); // cbSize
    buf.writeUInt16LE(bits, 38); // valid bits
    buf.writeUInt32LE(nCh === 1 ? 4 : 3, 40); // channel mask
    buf.writeUInt16LE(tag, 44); // SubFormat GUID starts with the tag
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(buf, 46);
  }
  let at = 12 + 8 + fmtSize;
  buf.write('data', at, 'ascii');
  buf.writeUInt32LE(dataSize, at + 4);
  at += 8;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nCh; c++) {
      const v = Math.max(-1, Math.min(1, channels[c][i]));
      if (spec.float && bits === 32) buf.writeFloatLE(v, at);
      else if (spec.float) buf.writeDoubleLE(v, at);
      else if (bits === 8) buf.writeUInt8(Math.round(v * 127) + 128, at);
      else if (bits === 16) buf.writeInt16LE(Math.round(v * 32767), at);
      else if (bits === 24) buf.writeIntLE(Math.round(v * 8388607), at, 3);
      else buf.writeInt32LE(Math.round(v * 2147483647), at);
      at += bytesPer;
    }
  }
  return buf;
}

/** Raw PCM16 little-endian bytes of samples in [-1, 1]. */
export function encodePcm16(samples: Float32Array): Buffer {
  const buf = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), i * 2));
  return buf;
}

/** A seeded PRNG (mulberry32), so "random" tests are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaussian-ish white noise (sum of uniforms) with the given RMS. */
export function whiteNoise(length: number, rms: number, seed = 1): Float32Array {
  const rand = prng(seed);
  // The sum of 4 uniforms on [-0.5, 0.5] has variance 4/12.
  const scale = rms / Math.sqrt(4 / 12);
  return Float32Array.from({ length }, () => (rand() + rand() + rand() + rand() - 2) * scale);
}

export const tone = (hz: number, rate: number, seconds: number, amplitude = 0.5) =>
  Float32Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate),
  );

export const rms = (x: Float32Array, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, to - from));
};

/** A tune of sine tones (with a quieter octave), 1/3 s per note, 16 kHz: music, not a voice. */
export function melody(seconds = 4, amplitude = 0.3, rate = 16_000): Float32Array {
  const notes = [262, 294, 330, 349, 392, 440, 494, 523, 440, 392, 330, 294];
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => {
    const hz = notes[Math.floor((i * 3) / rate) % notes.length];
    const t = i / rate;
    return amplitude * (Math.sin(2 * Math.PI * hz * t) + 0.3 * Math.sin(4 * Math.PI * hz * t));
  });
}

/**
 * A copy as a device across the room hears it: a tenth of the level, two echoes, and noise `snrDb`
 * below the (attenuated) speech, deterministic for a seed.
 */
export function farCopy(samples: Float32Array, seed = 1, snrDb = 3): Float32Array {
  const rate = 16_000;
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const echo1 = i >= 0.03 * rate ? samples[i - 0.03 * rate] : 0;
    const echo2 = i >= 0.07 * rate ? samples[i - 0.07 * rate] : 0;
    out[i] = 0.1 * (samples[i] + 0.5 * echo1 + 0.3 * echo2);
  }
  let power = 0;
  let n = 0;
  for (const v of out)
    if (Math.abs(v) > 1e-3) {
      power += v * v;
      n++;
    }
  const noise = whiteNoise(out.length, Math.sqrt(power / Math.max(1, n)) / 10 ** (snrDb / 20), seed);
  return out.map((v, i) => v + noise[i]);
}
