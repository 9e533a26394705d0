/**
 * Bytes in, 16 kHz mono Float32 out. WAV, MP3 and FLAC go through the @audio/* decoders (the per-format
 * packages behind `audio-decode`, imported one by one so a bundle carries three codecs, not thirty);
 * raw PCM16 is read here. Every limit is checked before the expensive step it guards: size before
 * anything, a WAV's duration from its header before decoding, compressed formats chunk by chunk while
 * decoding, so a small hostile file cannot expand into gigabytes.
 */
import { AudioError } from './errors';
import { resample } from './resample';

export type AudioFormat = 'wav' | 'mp3' | 'flac' | 'pcm16';

export interface DecodeOptions {
  /** Largest accepted input in bytes (default 4 MB). */
  maxBytes?: number;
  /** Longest accepted audio in seconds (default 60). */
  maxSeconds?: number;
  /** The bytes are raw PCM16 little-endian 16 kHz mono (no header), as `application/octet-stream` uploads. */
  rawPcm16?: boolean;
  /**
   * Bytes in no recognised container whose length is a whole number of 16-bit samples are read as raw
   * PCM16 16 kHz mono, as the Python backend did: older desktop clients upload headerless PCM as a multipart
   * file named `audio.wav`. A recognised but unsupported container (Ogg, MP4, AIFF) is still 415.
   */
  pcm16Fallback?: boolean;
}

export interface DecodedAudio {
  /** 16 kHz mono samples in [-1, 1]. */
  samples: Float32Array;
  sampleRateIn: number;
  channelsIn: number;
  durationS: number;
  format: AudioFormat;
}

export const SAMPLE_RATE = 16000;
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_SECONDS = 60;

/**
 * Compressed input is fed in chunks, so the duration limit trips before memory runs out. FLAC's are
 * smaller because it compresses silence to a few bytes per 65535-sample block: 2 KB can still expand to
 * about 11 million samples, 16 KB to 90 million. MP3 expands at most about 50-fold.
 */
const CHUNK_BYTES = { mp3: 16 * 1024, flac: 2 * 1024 };
const MIN_RATE = 4000;
const MAX_RATE = 192000;
const MAX_CHANNELS = 8;
/**
 * Decoded samples (all channels) allowed per second of the duration limit: 48 kHz stereo. The duration
 * limit alone would let a tiny FLAC that declares 8 channels at 192 kHz expand to 16 times that (92 million
 * samples, 600 MB and seconds of decoding for 60 s): refused from its header instead.
 */
const SAMPLES_PER_SECOND_BUDGET = 48_000 * 2;

interface PlanarAudio {
  channelData: Float32Array[];
  sampleRate: number;
}

/** Decodes and resamples; throws AudioError for anything it will not process. */
export async function decodeAudio(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const native = await decodeNative(bytes, options);
  if (native.format === 'pcm16') return { ...native, samples: native.mono };
  return { ...native, samples: resample(native.mono, native.sampleRateIn, SAMPLE_RATE) };
}

/** Decoded and validated, mixed down to mono, still at the source's rate (decodeAudio's first half). */
export async function decodeNative(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<Omit<DecodedAudio, 'samples'> & { mono: Float32Array }> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  if (!bytes || bytes.length === 0) throw new AudioError('EMPTY_AUDIO', 'The audio is empty');
  if (bytes.length > maxBytes)
    throw new AudioError('AUDIO_TOO_LARGE', `The audio is ${bytes.length} bytes; the limit is ${maxBytes}`);

  if (options.rawPcm16) {
    const { samples, ...rest } = decodePcm16(bytes, maxSeconds);
    return { ...rest, mono: samples };
  }

  const format = options.pcm16Fallback ? sniffOrPcm16(bytes) : sniff(bytes);
  if (format === 'pcm16') {
    const { samples, ...rest } = decodePcm16(bytes, maxSeconds);
    return { ...rest, mono: samples };
  }
  let planar: PlanarAudio;
  try {
    if (format === 'wav') planar = await decodeWav(bytes, maxSeconds);
    else planar = await decodeCompressed(bytes, format, maxSeconds);
  } catch (error) {
    if (error instanceof AudioError) throw error;
    throw new AudioError('CORRUPT_AUDIO', `The ${format.toUpperCase()} data could not be decoded`, {
      cause: error,
    });
  }
  const { channelData, sampleRate } = planar;
  if (!channelData.length || !channelData[0].length)
    throw new AudioError('CORRUPT_AUDIO', `The ${format.toUpperCase()} data holds no audio samples`);
  if (!(sampleRate >= MIN_RATE && sampleRate <= MAX_RATE))
    throw new AudioError('UNSUPPORTED_AUDIO_FORMAT', `A sample rate of ${sampleRate} Hz is not supported`);
  const durationS = channelData[0].length / sampleRate;
  if (durationS > maxSeconds) throw tooLong(durationS, maxSeconds);
  return {
    mono: downmix(channelData),
    sampleRateIn: sampleRate,
    channelsIn: channelData.length,
    durationS,
    format,
  };
}

const tooLong = (seconds: number, limit: number) =>
  new AudioError('AUDIO_TOO_LONG', `The audio lasts ${seconds.toFixed(1)} s; the limit is ${limit} s`);

const ascii = (b: Uint8Array, at: number, length: number) =>
  b.length >= at + length ? String.fromCharCode(...b.subarray(at, at + length)) : '';

/** Recognises a format from its magic bytes; the upload's file name and MIME type are not trusted. */
function sniff(b: Uint8Array): Exclude<AudioFormat, 'pcm16'> {
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WAVE') return 'wav';
  if (ascii(b, 0, 4) === 'fLaC') return 'flac';
  if (ascii(b, 0, 3) === 'ID3') {
    // ID3v2 may wrap FLAC as well as MP3: look past the tag.
    const tagEnd = 10 + ((b[6] & 0x7f) << 21) + ((b[7] & 0x7f) << 14) + ((b[8] & 0x7f) << 7) + (b[9] & 0x7f);
    if (ascii(b, tagEnd, 4) === 'fLaC') return 'flac';
    return 'mp3';
  }
  // MPEG audio frame sync: 11 set bits, a layer that is not "reserved" (which also keeps out AAC's ADTS).
  if (b.length >= 4 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0) return 'mp3';
  const known = ascii(b, 0, 4);
  const kind =
    known === 'OggS'
      ? 'Ogg'
      : ascii(b, 4, 4) === 'ftyp'
        ? 'MP4/M4A'
        : known === 'RIFF'
          ? 'RIFF (not WAVE)'
          : known === 'FORM'
            ? 'AIFF'
            : null;
  throw new AudioError(
    'UNSUPPORTED_AUDIO_FORMAT',
    kind
      ? `${kind} audio is not supported; send WAV, MP3, FLAC or raw PCM16`
      : 'The audio format is not recognised; send WAV, MP3, FLAC or raw PCM16',
  );
}

function sniffOrPcm16(b: Uint8Array): AudioFormat {
  try {
    return sniff(b);
  } catch (error) {
    const unrecognised =
      error instanceof AudioError && error.message.startsWith('The audio format is not recognised');
    if (unrecognised && b.length % 2 === 0) return 'pcm16';
    throw error;
  }
}

function decodePcm16(bytes: Uint8Array, maxSeconds: number): DecodedAudio {
  const frames = bytes.length >> 1;
  if (frames === 0) throw new AudioError('CORRUPT_AUDIO', 'Raw PCM16 audio needs at least one 2-byte sample');
  const durationS = frames / SAMPLE_RATE;
  if (durationS > maxSeconds) throw tooLong(durationS, maxSeconds);
  const view = new DataView(bytes.buffer, bytes.byteOffset, frames * 2);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
  return { samples, sampleRateIn: SAMPLE_RATE, channelsIn: 1, durationS, format: 'pcm16' };
}

/** WAVE format tags we accept (EXTENSIBLE is resolved to its sub-format). ADPCM is refused as 415. */
const WAV_TAGS: Record<number, { name: string; bits: number[] }> = {
  1: { name: 'pcm', bits: [8, 16, 24, 32] },
  3: { name: 'float', bits: [32, 64] },
  6: { name: 'alaw', bits: [8] },
  7: { name: 'ulaw', bits: [8] },
};

/**
 * Validates the WAV header ourselves before handing the bytes to @audio/decode-wav: that decoder trusts
 * the header (a zero block size or 65535 channels would make it allocate absurdly or loop), and reading
 * the header first lets the duration limit apply before any sample is decoded.
 */
async function decodeWav(b: Uint8Array, maxSeconds: number): Promise<PlanarAudio> {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 12;
  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number } | undefined;
  let dataStart = -1;
  let dataSize = 0;
  while (pos + 8 <= b.length) {
    const id = ascii(b, pos, 4);
    const size = view.getUint32(pos + 4, true);
    if (id === 'fmt ') {
      if (size < 16 || pos + 8 + 16 > b.length)
        throw new AudioError('CORRUPT_AUDIO', 'The WAV header is cut short');
      let tag = view.getUint16(pos + 8, true);
      if (tag === 0xfffe) {
        if (size < 40 || pos + 8 + 26 > b.length)
          throw new AudioError('CORRUPT_AUDIO', 'The WAV extensible header is cut short');
        tag = view.getUint16(pos + 8 + 24, true);
      }
      fmt = {
        tag,
        channels: view.getUint16(pos + 10, true),
        rate: view.getUint32(pos + 12, true),
        blockAlign: view.getUint16(pos + 20, true),
        bits: view.getUint16(pos + 22, true),
      };
    } else if (id === 'data') {
      dataStart = pos + 8;
      dataSize = size;
      break;
    }
    pos += 8 + size + (size & 1); // chunks are word-aligned
  }
  if (!fmt) throw new AudioError('CORRUPT_AUDIO', 'The WAV file has no format chunk');
  if (dataStart < 0) throw new AudioError('CORRUPT_AUDIO', 'The WAV file has no data chunk');
  const codec = WAV_TAGS[fmt.tag];
  if (!codec)
    throw new AudioError(
      'UNSUPPORTED_AUDIO_FORMAT',
      `WAV encoding 0x${fmt.tag.toString(16)} is not supported`,
    );
  if (!codec.bits.includes(fmt.bits))
    throw new AudioError('UNSUPPORTED_AUDIO_FORMAT', `${fmt.bits}-bit ${codec.name} WAV is not supported`);
  if (fmt.channels < 1 || fmt.channels > MAX_CHANNELS)
    throw new AudioError('UNSUPPORTED_AUDIO_FORMAT', `WAV with ${fmt.channels} channels is not supported`);
  if (fmt.rate < MIN_RATE || fmt.rate > MAX_RATE)
    throw new AudioError('UNSUPPORTED_AUDIO_FORMAT', `A sample rate of ${fmt.rate} Hz is not supported`);
  if (fmt.blockAlign !== (fmt.channels * fmt.bits) / 8)
    throw new AudioError('CORRUPT_AUDIO', 'The WAV header contradicts itself (block size)');
  const available = b.length - dataStart;
  // 0 and 0xFFFFFFFF are what streaming writers leave when they cannot seek back: read to the end.
  const streamed = dataSize === 0 || dataSize === 0xffffffff;
  if (!streamed && dataSize > available)
    throw new AudioError('CORRUPT_AUDIO', 'The WAV data is truncated (shorter than its header says)');
  const bytes = streamed ? available : dataSize;
  const frames = Math.floor(bytes / fmt.blockAlign);
  if (frames === 0) throw new AudioError('CORRUPT_AUDIO', 'The WAV file holds no audio samples');
  if (frames / fmt.rate > maxSeconds) throw tooLong(frames / fmt.rate, maxSeconds);
  const { default: decode } = await import('@audio/decode-wav');
  // A plain Uint8Array view, not a Node Buffer: the decoder aligns 64-bit samples with .slice(), which
  // copies on a Uint8Array but is only a view on a Buffer.
  return decode(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

interface ChunkDecoder {
  decode(data: Uint8Array): PlanarAudio;
  flush?(): PlanarAudio;
  free(): void;
}

/** What a FLAC file declares in its STREAMINFO block (duration and channels), when it says. */
function flacDeclared(b: Uint8Array): { seconds: number; channels: number; frames: number } | undefined {
  // STREAMINFO must be the first metadata block, right after 'fLaC' and its 4-byte block header.
  if (ascii(b, 0, 4) !== 'fLaC' || b.length < 26 || (b[4] & 0x7f) !== 0) return undefined;
  const s = 8;
  const rate = (b[s + 10] << 12) | (b[s + 11] << 4) | (b[s + 12] >> 4);
  const channels = ((b[s + 12] >> 1) & 0x07) + 1;
  const total =
    (b[s + 13] & 0x0f) * 2 ** 32 +
    ((b[s + 14] << 24) >>> 0) +
    (b[s + 15] << 16) +
    (b[s + 16] << 8) +
    b[s + 17];
  return rate > 0 && total > 0 ? { seconds: total / rate, channels, frames: total } : undefined;
}

const tooManySamples = (samples: number, budget: number) =>
  new AudioError(
    'AUDIO_TOO_LARGE',
    `The audio decodes to ${samples} samples (all channels); the limit is ${budget} (48 kHz stereo for the allowed duration)`,
  );

async function decodeCompressed(
  b: Uint8Array,
  format: 'mp3' | 'flac',
  maxSeconds: number,
): Promise<PlanarAudio> {
  // A FLAC that declares its length is refused before decoding; one that hides it meets the chunk check.
  const budget = maxSeconds * SAMPLES_PER_SECOND_BUDGET;
  const declared = format === 'flac' ? flacDeclared(b) : undefined;
  if (declared && declared.seconds > maxSeconds) throw tooLong(declared.seconds, maxSeconds);
  if (declared && declared.frames * declared.channels > budget)
    throw tooManySamples(declared.frames * declared.channels, budget);
  const mod: { decoder(): Promise<ChunkDecoder> } =
    format === 'mp3' ? await import('@audio/decode-mp3') : await import('@audio/decode-flac');
  const decoder = await mod.decoder();
  const parts: Float32Array[][] = [];
  let frames = 0;
  let sampleRate = 0;
  const take = (out: PlanarAudio) => {
    if (!out?.channelData?.length || !out.channelData[0].length) return;
    if (sampleRate && out.sampleRate !== sampleRate)
      throw new AudioError('CORRUPT_AUDIO', `The ${format.toUpperCase()} stream changes sample rate midway`);
    sampleRate = out.sampleRate;
    if (parts.length && out.channelData.length !== parts[0].length)
      throw new AudioError(
        'CORRUPT_AUDIO',
        `The ${format.toUpperCase()} stream changes channel count midway`,
      );
    if (out.channelData.length > MAX_CHANNELS)
      throw new AudioError(
        'UNSUPPORTED_AUDIO_FORMAT',
        `${out.channelData.length} channels are not supported`,
      );
    // The decoders reuse their output buffers between calls: keep a copy.
    parts.push(out.channelData.map((c) => c.slice()));
    frames += out.channelData[0].length;
    if (sampleRate > 0 && frames / sampleRate > maxSeconds) throw tooLong(frames / sampleRate, maxSeconds);
    if (frames * out.channelData.length > budget)
      throw tooManySamples(frames * out.channelData.length, budget);
  };
  try {
    const chunk = CHUNK_BYTES[format];
    for (let at = 0; at < b.length; at += chunk) take(decoder.decode(b.subarray(at, at + chunk)));
    if (decoder.flush) take(decoder.flush());
  } finally {
    decoder.free();
  }
  if (!parts.length) return { channelData: [], sampleRate: 0 };
  // mpg123 answers mono MP3 as two identical channels: count it as the one channel it is.
  const channels = format === 'mp3' && parts[0].length === 2 && parts.every(identical) ? 1 : parts[0].length;
  const channelData = Array.from({ length: channels }, (_, c) => {
    const out = new Float32Array(frames);
    let at = 0;
    for (const part of parts) {
      out.set(part[c], at);
      at += part[c].length;
    }
    return out;
  });
  return { channelData, sampleRate };
}

function identical(channels: Float32Array[]): boolean {
  const [a, b] = channels;
  for (let i = 0; i < a.length; i += 7) if (a[i] !== b[i]) return false;
  return true;
}

/** Averages the channels; NaN and infinities (possible in float WAV) become silence, peaks clip at +-1. */
function downmix(channels: Float32Array[]): Float32Array {
  const n = channels[0].length;
  const out = new Float32Array(n);
  const k = channels.length;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += channels[c][i];
    const v = sum / k;
    out[i] = v > 1 ? 1 : v < -1 ? -1 : v === v ? v : 0;
  }
  return out;
}
