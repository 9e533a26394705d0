/**
 * Band-limited resampling to the models' 16 kHz.
 *
 * Why our own: libsamplerate's WASM port (@alexanderolsen/libsamplerate-js, the trusted choice and the
 * reference the tests compare against) took 36-80 ms for 10 s of 48 kHz audio at its fastest sinc setting,
 * a third or more of the whole pipeline's 100 ms budget. A polyphase windowed-sinc FIR with a precomputed
 * table does the same job in about 10 ms: at each output instant it evaluates a Kaiser-windowed sinc low-pass
 * whose cutoff sits just under the lower of the two Nyquist frequencies, so content above 8 kHz is removed
 * before it can alias instead of folding back into the speech band.
 */

/** Zero crossings of the sinc on each side, counted at the lower of the two rates. */
const ZERO_CROSSINGS = 8;
/** Kaiser beta: about 80 dB of stop-band attenuation. */
const KAISER_BETA = 8;
/** Cutoff as a share of the lower Nyquist frequency: the transition band ends at Nyquist, not after it. */
const ROLLOFF = 0.85;
/** Most phases we keep a table for; ratios needing more use the nearest of these (sub-0.1 us timing error). */
const MAX_PHASES = 2048;

interface Filter {
  phases: number;
  taps: number;
  /** phases x taps, row p holds the kernel for fractional position p / phases. */
  table: Float64Array;
  /** Index of the first input sample a kernel touches, relative to floor(position). */
  offset: number;
}

const filters = new Map<string, Filter>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function buildFilter(rateIn: number, rateOut: number, phases: number): Filter {
  // Cutoff in cycles per input sample; downsampling narrows it to the output's Nyquist.
  const cutoff = 0.5 * Math.min(1, rateOut / rateIn) * ROLLOFF;
  const halfWidth = Math.ceil(ZERO_CROSSINGS / (2 * cutoff)); // input samples on each side
  const taps = 2 * halfWidth;
  const table = new Float64Array(phases * taps);
  const i0Beta = besselI0(KAISER_BETA);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const t = k - halfWidth + 1 - frac; // distance from the output instant, in input samples
      const x = 2 * cutoff * t;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = t / halfWidth;
      const window = Math.abs(r) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
      const v = 2 * cutoff * sinc * window;
      table[p * taps + k] = v;
      sum += v;
    }
    // Unity gain at DC for every phase, so a constant stays constant.
    for (let k = 0; k < taps; k++) table[p * taps + k] /= sum;
  }
  return { phases, taps, table, offset: -halfWidth + 1 };
}

/** Resamples mono audio from `rateIn` to `rateOut`; returns the input itself when the rates match. */
export function resample(input: Float32Array, rateIn: number, rateOut = 16000): Float32Array {
  if (rateIn === rateOut) return input;
  const g = gcd(rateIn, rateOut);
  const up = rateOut / g; // output instant n sits at input position n * down / up
  const down = rateIn / g;
  const phases = Math.min(up, MAX_PHASES);
  const key = `${rateIn}:${rateOut}`;
  let filter = filters.get(key);
  if (!filter) {
    filter = buildFilter(rateIn, rateOut, phases);
    filters.set(key, filter);
  }
  const { taps, table, offset } = filter;
  const n = input.length;
  const outLength = Math.floor((n * up) / down);
  const out = new Float32Array(outLength);
  const exact = phases === up;
  for (let i = 0; i < outLength; i++) {
    let base: number;
    let phase: number;
    if (exact) {
      const pos = i * down; // integer arithmetic: exact phase, no drift
      base = Math.floor(pos / up);
      phase = pos - base * up;
    } else {
      const pos = (i * rateIn) / rateOut;
      base = Math.floor(pos);
      phase = Math.round((pos - base) * phases);
      if (phase === phases) {
        phase = 0;
        base++;
      }
    }
    const start = base + offset;
    const row = phase * taps;
    let acc = 0;
    if (start >= 0 && start + taps <= n) {
      for (let k = 0; k < taps; k++) acc += table[row + k] * input[start + k];
    } else {
      // Edges: samples outside the signal count as silence.
      for (let k = 0; k < taps; k++) {
        const j = start + k;
        if (j >= 0 && j < n) acc += table[row + k] * input[j];
      }
    }
    out[i] = acc;
  }
  return out;
}
