/**
 * `npm run bench:audio`: every stage of the audio package on 10 s of speech (a 44.1 kHz 16-bit mono WAV,
 * so decoding and resampling both do real work), with onnxruntime on one intra-op thread. Prints the
 * median of 15 runs after 3 warm-up runs, the real-time factor and the process RSS with both models loaded.
 * Targets: total <= 100 ms (RTF <= 0.01), RSS <= 200 MB.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNative } from '../shared/audio/decode';
import { computeFbank } from '../shared/audio/fbank';
import { decodeAudio, detectSpeech, qualityMetrics, resample } from '../shared/audio/index';
import { getSession, speakerModelPath, vadModelPath } from '../shared/audio/models';
import { embedFbank, speechOnly } from '../shared/audio/speaker';

const SECONDS = 10;
const RATE_IN = 44100;
const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures', 'audio');

/** 10 s of the fixture voices back to back, as a 44.1 kHz 16-bit mono WAV. */
async function tenSecondsOfSpeech(): Promise<Buffer> {
  const parts: Float32Array[] = [];
  let total = 0;
  for (const name of ['voice-a-1', 'voice-b-1', 'voice-c-1', 'voice-a-2']) {
    const { samples } = await decodeAudio(readFileSync(join(fixtures, `${name}.mp3`)));
    parts.push(samples);
    total += samples.length;
  }
  const speech16k = new Float32Array(SECONDS * 16000);
  let at = 0;
  for (const p of parts) {
    if (at >= speech16k.length) break;
    speech16k.set(p.subarray(0, speech16k.length - at), at);
    at += p.length;
  }
  if (total < speech16k.length) throw new Error('not enough fixture speech for 10 s');
  const x = resample(speech16k, 16000, RATE_IN);
  const wav = Buffer.alloc(44 + x.length * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(wav.length - 8, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(RATE_IN, 24);
  wav.writeUInt32LE(RATE_IN * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(x.length * 2, 40);
  x.forEach((v, i) => wav.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), 44 + i * 2));
  return wav;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const rssBefore = process.memoryUsage().rss;
let t = performance.now();
await getSession(vadModelPath());
const vadLoad = performance.now() - t;
t = performance.now();
await getSession(speakerModelPath());
const speakerLoad = performance.now() - t;
const wav = await tenSecondsOfSpeech();

const stages = ['decode', 'resample', 'vad', 'quality', 'fbank', 'embedding'] as const;
type Stage = (typeof stages)[number];
async function once(): Promise<Record<Stage, number>> {
  const times = {} as Record<Stage, number>;
  const time = async <T>(stage: Stage, run: () => T | Promise<T>) => {
    const start = performance.now();
    const out = await run();
    times[stage] = performance.now() - start;
    return out;
  };
  const native = await time('decode', () => decodeNative(wav));
  const samples = await time('resample', () => resample(native.mono, native.sampleRateIn, 16000));
  const vad = await time('vad', () => detectSpeech(samples));
  await time('quality', () => qualityMetrics(samples, vad));
  const fbank = await time('fbank', () => computeFbank(speechOnly(samples, vad.segments)));
  await time('embedding', () => embedFbank(fbank.data, fbank.frames));
  return times;
}

for (let i = 0; i < 3; i++) await once();
const runs: Record<Stage, number>[] = [];
for (let i = 0; i < 15; i++) runs.push(await once());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const totals = runs.map((r) => stages.reduce((sum, s) => sum + r[s], 0));
const total = median(totals);
const rss = process.memoryUsage().rss;

console.log(`input: ${SECONDS} s of speech, WAV ${RATE_IN} Hz 16-bit mono (${mb(wav.length)} MB)`);
console.log(
  `model load (once per process): VAD ${vadLoad.toFixed(0)} ms, speaker ${speakerLoad.toFixed(0)} ms`,
);
for (const s of stages)
  console.log(
    `${s.padEnd(10)} ${median(runs.map((r) => r[s]))
      .toFixed(1)
      .padStart(7)} ms`,
  );
console.log(
  `${'total'.padEnd(10)} ${total.toFixed(1).padStart(7)} ms (median of ${runs.length}; best ${Math.min(...totals).toFixed(1)} ms)`,
);
console.log(`RTF        ${(total / 1000 / SECONDS).toFixed(4)}`);
console.log(`RSS        ${mb(rss)} MB with both models loaded (${mb(rssBefore)} MB at start)`);
const ok = total <= 100 && rss <= 200 * 1024 * 1024;
console.log(
  `targets    total <= 100 ms: ${total <= 100 ? 'met' : 'MISSED'}; RSS <= 200 MB: ${rss <= 200 * 1024 * 1024 ? 'met' : 'MISSED'}`,
);
if (!ok) process.exitCode = 1;
