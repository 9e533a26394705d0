/**
 * Writes the default speaker-embedding model, shared/audio/models/speaker-stats-v1.onnx.
 *
 * No pretrained speaker network can be downloaded here, so the default is a fixed, untrained ONNX graph
 * with the same contract as a WeSpeaker export (input `feats` [1, T, 80] mean-normalised Kaldi fbank,
 * output `embs` [1, D]), so a real model replaces it through SPEAKER_MODEL_PATH without code changes:
 *
 *   s_m      = std over time of band m
 *   r_L[m]   = corr over time of bands m and m+L, for L = 1, 2, 3  (80 - L values each)
 *   embs     = [r_1 @ D_79, r_2 @ D_78, r_3 @ D_77]                 (234 -> 192)
 *
 * D_n is a DCT-II without its 0th row: each correlation profile becomes 64 "cepstral"
 * coefficients, and dropping coefficient 0 removes its overall level. How neighbouring mel bands move
 * together over an utterance reflects the voice's harmonic spacing (pitch) and formant bandwidths, and it
 * does not depend on loudness or on the (mean-normalised) channel. Among the statistics tried on the
 * fixtures (per-band log std, delta std, energy covariance, temporal correlation) this one kept same-voice
 * pairs furthest from different-voice pairs. It is still no speaker-recognition network: see README "Audio".
 *
 * Run: npx tsx scripts/audio/make-speaker-model.ts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const BINS = 80;
const COEFFS = 64;
const DIM = 3 * COEFFS;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

const tensor = (name: string, dims: number[], values: number[], type = FLOAT) =>
  onnx.TensorProto.create({
    name,
    dims,
    dataType: type,
    ...(type === FLOAT ? { floatData: values } : { int64Data: values }),
  });

const node = (
  op: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, number[] | number> = {},
) =>
  onnx.NodeProto.create({
    opType: op,
    input: inputs,
    output: outputs,
    name: outputs[0],
    attribute: Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value)
        ? onnx.AttributeProto.create({ name, ints: value, type: onnx.AttributeProto.AttributeType.INTS })
        : onnx.AttributeProto.create({ name, i: value, type: onnx.AttributeProto.AttributeType.INT }),
    ),
  });

const LAGS = [1, 2, 3];
/** DCT-II (orthonormal scaling), coefficients 1..COEFFS, for a profile of n values: n x COEFFS. */
const dct = (n: number) =>
  Array.from({ length: n * COEFFS }, (_, i) => {
    const m = Math.floor(i / COEFFS);
    const k = (i % COEFFS) + 1;
    return Math.sqrt(2 / n) * Math.cos((Math.PI * k * (m + 0.5)) / n);
  });

const int64 = (name: string, v: number) => tensor(name, [1], [v], INT64);
const slice = (x: string, from: string, to: string, axis: string, out: string) =>
  node('Slice', [x, from, to, axis], [out]);

/** Correlation over time between band m and band m + lag, for every m. */
const correlation = (lag: number) => [
  slice('centred', 'zero', `minus_${lag}`, 'axis2', `low_${lag}`),
  slice('centred', `lag_${lag}`, 'big', 'axis2', `high_${lag}`),
  node('Mul', [`low_${lag}`, `high_${lag}`], [`prod_${lag}`]),
  node('ReduceMean', [`prod_${lag}`], [`cov_${lag}`], { axes: [1], keepdims: 0 }),
  slice('std', 'zero', `minus_${lag}`, 'axis1', `std_low_${lag}`),
  slice('std', `lag_${lag}`, 'big', 'axis1', `std_high_${lag}`),
  node('Mul', [`std_low_${lag}`, `std_high_${lag}`], [`std_prod_${lag}`]),
  node('Add', [`std_prod_${lag}`, 'eps'], [`denominator_${lag}`]),
  node('Div', [`cov_${lag}`, `denominator_${lag}`], [`corr_${lag}`]),
  node('MatMul', [`corr_${lag}`, `dct_${lag}`], [`coeffs_${lag}`]),
];

const graph = onnx.GraphProto.create({
  name: 'speaker_stats_v1',
  node: [
    // Centre each band over time (the caller's mean normalisation already does; a model must not rely on it).
    node('ReduceMean', ['feats'], ['band_mean'], { axes: [1], keepdims: 1 }),
    node('Sub', ['feats', 'band_mean'], ['centred']),
    node('Mul', ['centred', 'centred'], ['squared']),
    node('ReduceMean', ['squared'], ['variance'], { axes: [1], keepdims: 0 }),
    node('Sqrt', ['variance'], ['std']),
    ...LAGS.flatMap(correlation),
    node(
      'Concat',
      LAGS.map((lag) => `coeffs_${lag}`),
      ['embs'],
      { axis: 1 },
    ),
  ],
  initializer: [
    int64('zero', 0),
    int64('big', 2 ** 31 - 1),
    int64('axis1', 1),
    int64('axis2', 2),
    ...LAGS.flatMap((lag) => [int64(`lag_${lag}`, lag), int64(`minus_${lag}`, -lag)]),
    tensor('eps', [], [1e-6]),
    ...LAGS.map((lag) => tensor(`dct_${lag}`, [BINS - lag, COEFFS], dct(BINS - lag))),
  ],
  input: [
    onnx.ValueInfoProto.create({
      name: 'feats',
      type: {
        tensorType: {
          elemType: FLOAT,
          shape: { dim: [{ dimParam: 'B' }, { dimParam: 'T' }, { dimValue: BINS }] },
        },
      },
    }),
  ],
  output: [
    onnx.ValueInfoProto.create({
      name: 'embs',
      type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'B' }, { dimValue: DIM }] } } },
    }),
  ],
});

const model = onnx.ModelProto.create({
  irVersion: 7,
  opsetImport: [{ domain: '', version: 13 }],
  producerName: 'mira scripts/audio/make-speaker-model.ts',
  docString: 'Fixed band-correlation speaker embedding (untrained); WeSpeaker input/output contract',
  graph,
});

const out = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'shared',
  'audio',
  'models',
  'speaker-stats-v1.onnx',
);
const bytes = onnx.ModelProto.encode(model).finish();
writeFileSync(out, bytes);
console.log(`wrote ${out}: ${bytes.length} bytes, embedding dim ${DIM}`);
