/**
 * `npm run audio -- analyze FILE` prints one JSON object about FILE; `npm run audio -- compare A B` prints
 * the cosine between the two speakers' embeddings. `--raw` reads FILE(s) as raw PCM16 16 kHz mono.
 * Errors go to stderr with exit code 1 (2 for bad usage).
 */
import { readFileSync } from 'node:fs';
import { analyzeAudio, AudioError, cosineSimilarity } from '../shared/audio/index';

const usage = 'usage: npm run audio -- analyze FILE [--raw] | compare FILE_A FILE_B [--raw]';

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

async function analyze(file: string, rawPcm16: boolean) {
  const result = await analyzeAudio(readFileSync(file), { rawPcm16 });
  return {
    file,
    duration_s: round(result.audio.durationS, 3),
    sample_rate_in: result.audio.sampleRateIn,
    channels_in: result.audio.channelsIn,
    format: result.audio.format,
    speech_ratio: result.quality.speechRatio,
    segments: result.vad.segments.map((s) => ({ start_s: s.startS, end_s: s.endS })),
    snr_db: result.quality.snrDb,
    speech_clarity: result.quality.speechClarity,
    volume_rms: result.quality.volumeRms,
    noise_level: result.quality.noiseLevel,
    clipping_ratio: result.quality.clippingRatio,
    score: result.score,
    embedding_dim: result.embedding?.length ?? 0,
    embedding: result.embedding,
  };
}

async function main(args: string[]): Promise<number> {
  const rawPcm16 = args.includes('--raw');
  const [command, ...files] = args.filter((a) => a !== '--raw');
  if (command === 'analyze' && files.length === 1) {
    const { embedding: _embedding, ...report } = await analyze(files[0], rawPcm16);
    console.log(JSON.stringify(report));
    return 0;
  }
  if (command === 'compare' && files.length === 2) {
    const [a, b] = await Promise.all(files.map((f) => analyze(f, rawPcm16)));
    for (const x of [a, b])
      if (!x.embedding) throw new Error(`${x.file}: not enough speech for a speaker embedding`);
    console.log(JSON.stringify({ cosine: round(cosineSimilarity(a.embedding!, b.embedding!)) }));
    return 0;
  }
  console.error(usage);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const message =
    error instanceof AudioError
      ? `${error.code} (${error.status}): ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
  console.error(`audio: ${message}`);
  process.exitCode = 1;
}
