/**
 * Writes the audio package's own features (shared/audio/fbank.ts, mean-normalised, as the speaker model gets
 * them) of a raw float32 little-endian 16 kHz file, as raw float32 frames x 80, so scripts/speaker/check_fbank.py
 * can check that the training features are the same numbers.
 *
 *   npx tsx scripts/speaker/fbank-dump.ts in.f32 out.f32
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { computeFbank } from '../../shared/audio/fbank';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: fbank-dump.ts in.f32 out.f32');
const bytes = readFileSync(input);
const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const { data } = computeFbank(Float32Array.from(samples), true);
writeFileSync(output, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
