/**
 * PCM to WAV for the model's inline audio. Hand-written because it is a 44-byte header plus a float to
 * 16-bit conversion; a dependency would add more surface than it saves.
 */

export const SAMPLE_RATE = 16_000;

/** Mono 16-bit PCM WAV of float samples in [-1, 1] (values outside are clipped). */
export function encodeWav(samples: Float32Array, sampleRate = SAMPLE_RATE): Buffer {
  const dataBytes = samples.length * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) {
    const clipped = Math.max(-1, Math.min(1, samples[i]));
    wav.writeInt16LE(Math.round(clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff), 44 + i * 2);
  }
  return wav;
}

/** True when the bytes start like a RIFF/WAVE file. */
export const isWav = (bytes: Uint8Array): boolean =>
  bytes.length >= 12 &&
  Buffer.from(bytes.subarray(0, 4)).toString('ascii') === 'RIFF' &&
  Buffer.from(bytes.subarray(8, 12)).toString('ascii') === 'WAVE';
