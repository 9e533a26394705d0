/**
 * fast-check arbitraries for the OpenAPI fuzz suite: values drawn from the document's JSON schemas, and the
 * hostile ones no schema admits (wrong types, boundaries, huge, unicode and NUL, malformed UUIDs,
 * percent-encodings, timestamps out of range, corrupt and bomb audio, broken multipart bodies).
 */
import fc from 'fast-check';
import { encodePcm16, encodeWav, whiteNoise } from '../helpers/audio';

export type JsonSchema = Record<string, any>;

/** Known values by parameter or property name (real ids of the fuzzed network), offered beside random ones. */
export type Hints = Record<string, string | undefined>;

const resolve = (schema: JsonSchema, doc: JsonSchema): JsonSchema => {
  let current = schema;
  for (let i = 0; i < 10 && current?.$ref; i++) {
    const name = String(current.$ref).replace('#/components/schemas/', '');
    current = {
      ...doc.components.schemas[name],
      ...Object.fromEntries(Object.entries(current).filter(([k]) => k !== '$ref')),
    };
  }
  return current ?? {};
};

const isoDate = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** A string the schema admits (formats and patterns honoured where they matter). */
function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, 40);
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'date-time') return isoDate;
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.format === 'uri' || schema.format === 'url') return fc.webUrl();
  if (schema.pattern) {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern))
        .filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
    } catch {
      // A pattern fast-check cannot read: plain strings then.
    }
  }
  return fc.string({ minLength: min, maxLength: Math.max(min, max) });
}

/** A value valid under `schema` (as far as JSON Schema says; cross-field rules are the server's). */
export function valueOf(
  schema: JsonSchema,
  doc: JsonSchema,
  hints: Hints = {},
  depth = 0,
): fc.Arbitrary<unknown> {
  const s = resolve(schema, doc);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives) && alternatives.length)
    return fc.oneof(...alternatives.map((alt: JsonSchema) => valueOf(alt, doc, hints, depth + 1)));
  const type = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (type.length > 1)
    return fc.oneof(...type.map((t: string) => valueOf({ ...s, type: t }, doc, hints, depth)));
  switch (type[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: Math.max(s.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER),
        max: Math.min(s.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER),
      });
    case 'number':
      return fc.double({
        min: s.minimum ?? -1e6,
        max: s.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'string':
      return stringOf(s);
    case 'array':
      return fc.array(depth > 3 ? fc.constant(null) : valueOf(s.items ?? {}, doc, hints, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 3, Math.max(s.minItems ?? 0, 3)),
      });
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set<string>(s.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, prop] of Object.entries(properties)) {
        const generated = depth > 4 ? fc.constant(null) : valueOf(prop, doc, hints, depth + 1);
        const hint = hints[name];
        shape[name] =
          hint === undefined ? generated : fc.oneof({ arbitrary: fc.constant(hint), weight: 3 }, generated);
      }
      const record = fc.record(shape, { requiredKeys: [...required].filter((k) => k in shape) });
      if (!Object.keys(properties).length && s.additionalProperties !== false)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      return record;
    }
    default:
      return depth > 3 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
  }
}

// --- Hostile values ---------------------------------------------------------------------------------

export const HUGE_STRING = 'x'.repeat(200_000);

/** Strings no careful server should choke on: NUL, lone surrogates, control characters, scripts, emoji. */
export const nastyString = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\u0000'.repeat(64),
    '\uD800',
    'x\uDFFFy',
    '\uFEFF',
    '\u202Eevil',
    'ＭＩＲＡ',
    '👩‍👩‍👧‍👦🔥',
    'Ωμέγα',
    'مرحبا',
    '\r\n\t\u0007',
    "'; DROP TABLE persons; --",
    '${jndi:ldap://x}',
    '<script>alert(1)</script>',
    '../../../../etc/passwd',
    '%00',
    '%ZZ',
    ' ',
    '',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** Timestamps at and past the edges a database or Date can hold. */
export const nastyTimestamp = fc.constantFrom(
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '+010000-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '275760-09-13T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:00+25:00',
  '2026-01-01',
  '1970-01-01T00:00:00.0000000001Z',
  'yesterday',
);

export const malformedUuid = fc.constantFrom(
  'not-a-uuid',
  '00000000-0000-0000-0000-00000000000g',
  '00000000000000000000000000000000',
  '{3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f}',
  '3F2B8C1E-5D4A-4E6B-9C7D-1A2B3C4D5E6F',
  '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f0',
  '3f2b8c1e-5d4a-4e6b-9c7d',
  '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f\u0000',
  '-1',
  '0',
  'null',
  'undefined',
);

/** Path segments as they go on the wire: percent-encoding right, wrong and hostile. */
export const nastySegment = fc.oneof(
  fc.constantFrom(
    '%ZZ',
    '%',
    '%2',
    '%00',
    '%2F',
    '%2e%2e',
    '%2E',
    '%C0%AF',
    '%E0%A4%A',
    '%FF%FE',
    '%ED%A0%80',
    '%F0%9F%94%A5',
    '%25',
    '%252F',
    'a%20b',
    '%0D%0A',
    'x'.repeat(2_000),
    '%ZZ'.repeat(100),
  ),
  nastyString.filter((s) => s.length > 0).map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?'))),
  malformedUuid.map(encodeURIComponent),
);

/** A value of the wrong type, or of the right type at or past its bounds. */
export const wrongValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, [], {}, [[]], { '': null }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  nastyString,
  nastyTimestamp,
  malformedUuid,
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
);

/** JSON nested past any sane depth, built as text (JSON.stringify of it would be the same). */
export const deepJson = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

/** Bodies that are not JSON, or JSON of the wrong shape. */
export const malformedJsonText = fc.constantFrom(
  '{',
  '{"a":',
  '{"a":1}}',
  '{"a":1,}',
  "{'a':1}",
  '\uFEFF{}',
  '\u0000',
  'null',
  '[]',
  '"a string"',
  '1e999',
  '-',
  'NaN',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  deepJson(5_000),
  deepJson(100, '{"a":', '}').replace(/}$/, '1}'),
);

// --- Audio ------------------------------------------------------------------------------------------

const wavOf = (seconds: number, rate = 16_000, seed = 1) =>
  encodeWav([whiteNoise(Math.max(1, Math.round(seconds * rate)), 0.1, seed)], { rate, bits: 16 });

/** A WAV whose header claims far more than it holds, or rates and channel counts no decoder expects. */
function wavBomb(kind: number): Buffer {
  const wav = wavOf(0.05);
  if (kind === 0) wav.writeUInt32LE(0xffffffff, 40); // data size: 4 GiB
  if (kind === 1) wav.writeUInt32LE(1, 24); // 1 Hz
  if (kind === 2) wav.writeUInt32LE(0xffffffff, 24); // 4 GHz
  if (kind === 3) wav.writeUInt16LE(0xffff, 22); // 65535 channels
  if (kind === 4) wav.writeUInt16LE(0, 34); // 0 bits per sample
  if (kind === 5) wav.writeUInt32LE(0xfffffff0, 16); // fmt chunk of 4 GiB
  return wav;
}

/** A FLAC stream header that declares a huge number of samples, then nothing. */
function flacBomb(): Buffer {
  const header = Buffer.alloc(4 + 4 + 34);
  header.write('fLaC', 0, 'ascii');
  header[4] = 0x80; // last metadata block, STREAMINFO
  header.writeUIntBE(34, 5, 3);
  header.writeUInt16BE(4096, 8);
  header.writeUInt16BE(4096, 10);
  // sample rate 44100 (20 bits), channels 2 (3 bits: 1), bits 16 (5 bits: 15), total samples 2^36-1
  const rate = 44_100;
  const packed = (BigInt(rate) << 44n) | (1n << 41n) | (15n << 36n) | ((1n << 36n) - 1n);
  header.writeBigUInt64BE(packed, 18);
  return header;
}

/** Corrupt and bomb audio, and a few small real-looking ones. */
export const audioBytes = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => wavOf(n / 20, 16_000, n)), weight: 3 },
  fc.constantFrom(
    Buffer.alloc(0),
    Buffer.from('RIFF'),
    Buffer.from('RIFF\x00\x00\x00\x00WAVEfmt '),
    Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00garbage'),
    Buffer.from('fLaC'),
    flacBomb(),
    Buffer.from('OggS\x00\x02'),
    encodePcm16(whiteNoise(801, 0.1)).subarray(1), // odd length
    wavOf(0.05, 8_000).subarray(0, 30), // cut inside the header
  ),
  fc.integer({ min: 0, max: 5 }).map(wavBomb),
  fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
);

/** Raw PCM16 bodies (application/octet-stream uploads). */
export const pcmBytes = fc.oneof(
  fc.integer({ min: 1, max: 8 }).map((n) => encodePcm16(whiteNoise(n * 800, 0.1, n))),
  fc.constantFrom(Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(3, 0xff)),
  fc.uint8Array({ maxLength: 3_000 }).map((bytes) => Buffer.from(bytes)),
);
