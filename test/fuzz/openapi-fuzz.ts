/**
 * The OpenAPI-driven fuzz suite: every operation of the server's own `/openapi.json` (both path forms are
 * operations of their own there) gets at least CASES_PER_OPERATION generated requests through the real
 * pipeline, in categories: valid, boundary, wrong types, huge, unicode/NUL, malformed UUIDs,
 * percent-encodings, wrong content types, malformed and truncated bodies, credentials, corrupt and bomb
 * audio, Idempotency-Key. Real ids of a real network are substituted in many cases.
 *
 * Asserted for every answer: no 5xx but a documented 503; the status is documented for the operation; an
 * error is `{detail, error_code, timestamp}` with a code documented for that status; and afterwards the
 * process still answers. The work is bounded by case counts (no shrinking, no time limit); the seed is
 * fixed and printed: `FUZZ_SEED=<n>` replays a run, `FUZZ_OPERATION=<text>` keeps the operations whose
 * id contains it, `FUZZ_CASES=<n>` changes the cases per operation.
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contexts, defaultContextName } from '../../functions/contexts';
import { LocalDispatcher, toApiGatewayEvent } from '../../local/dispatch';
import { resetConfig } from '../../shared/config';
import { createDb, setDb, type Db } from '../../shared/db/client';
import { migrateToLatest } from '../../shared/db/migrate';
import { ERROR_CATALOGUE } from '../../shared/errors/catalogue';
import { createTestDatabase } from '../helpers/db';
import { multipart } from '../helpers/http';
import { spawnServer, type ServerProcess } from '../helpers/server-process';
import {
  audioBytes,
  deepJson,
  HUGE_STRING,
  malformedJsonText,
  malformedUuid,
  nastySegment,
  nastyString,
  nastyTimestamp,
  pcmBytes,
  valueOf,
  wrongValue,
  type Hints,
  type JsonSchema,
} from './arbitraries';

export const DEFAULT_SEED = 20_260_101;
const SEED = Number(process.env.FUZZ_SEED ?? DEFAULT_SEED);
const ONLY = process.env.FUZZ_OPERATION;
export const CASES_PER_OPERATION = Math.max(30, Number(process.env.FUZZ_CASES ?? 32));

/**
 * Bugs of the application found by this suite and still open on main (each matched narrowly: operation,
 * and what the request or the answer says): reported on every run, kept out of the verdict so the suite
 * stays green meanwhile. A bug no longer seen is reported too, so its entry can go.
 */
export const KNOWN_BUGS: Array<{ operation: RegExp; request?: RegExp; answer?: RegExp; bug: string }> = [];

interface Operation {
  id: string;
  method: string;
  template: string;
  spec: JsonSchema;
  form: 'network' | 'token' | 'root';
}

interface FuzzCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

interface Fixtures {
  token: string;
  forgedTokens: string[];
  networkId: string;
  userId: string;
  memberId: string;
  email: string;
  hints: Hints;
}

const hash = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
};

const dispatcher = new LocalDispatcher(contexts, defaultContextName);

/** Over HTTP to a local server process (driver `http`), when set; in process otherwise. */
let baseUrl: string | undefined;

/** A request Node's HTTP client refuses to write (a header with NUL or non-Latin-1, a raw space in the path). */
class Unsendable extends Error {}

function sendHttp(c: Pick<FuzzCase, 'method' | 'path' | 'headers' | 'body'>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = httpRequest(`${baseUrl}${c.path}`, { method: c.method, headers: c.headers });
    } catch (error) {
      return reject(new Unsendable(String(error)));
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
        const bytes = Buffer.concat(chunks);
        const binary =
          !/json|text|html|javascript|css/.test(headers['content-type'] ?? '') || headers['content-encoding'];
        resolve({ status: res.statusCode!, headers, text: binary ? '(binary)' : bytes.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(c.body?.length ? c.body : undefined);
  });
}

async function send(c: Pick<FuzzCase, 'method' | 'path' | 'headers' | 'body'>): Promise<Answer> {
  if (baseUrl) return sendHttp(c);
  const result = await dispatcher.invoke(
    toApiGatewayEvent({ method: c.method, url: c.path, headers: c.headers, body: c.body ?? Buffer.alloc(0) }),
  );
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  const text = result.isBase64Encoded ? '(binary)' : (result.body ?? '');
  return { status: result.statusCode ?? 200, headers, text };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** A Content-Type header, or none for the empty string. */
const contentTypeHeader = (type: string): Record<string, string> => (type ? { 'content-type': type } : {});

async function call(method: string, path: string, body: unknown, token?: string): Promise<any> {
  const answer = await send({
    method,
    path,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? json(body) : undefined,
  });
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text}`);
  return answer.text ? JSON.parse(answer.text) : undefined;
}

function operationsOf(doc: JsonSchema): Operation[] {
  const operations: Operation[] = [];
  for (const [template, methods] of Object.entries<JsonSchema>(doc.paths)) {
    for (const [method, spec] of Object.entries<JsonSchema>(methods)) {
      const form = template.includes('{network_id}')
        ? 'network'
        : template.startsWith('/api/{version}/')
          ? 'token'
          : 'root';
      operations.push({
        id: spec.operationId ?? `${method} ${template}`,
        method: method.toUpperCase(),
        template,
        spec,
        form,
      });
    }
  }
  return operations;
}

// --- Case generation ------------------------------------------------------------------------------

const schemaOf = (content: JsonSchema | undefined, doc: JsonSchema): JsonSchema => {
  let schema = content?.schema ?? {};
  for (let i = 0; i < 5 && schema.$ref; i++)
    schema = doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
  // The register form documents `anyOf [form, raw]`: the form is the multipart body.
  if (Array.isArray(schema.anyOf)) {
    const form = schema.anyOf.find((alt: JsonSchema) => alt.$ref || alt.properties);
    if (form) return schemaOf({ schema: form }, doc);
  }
  return schema;
};

const isBinary = (schema: JsonSchema) =>
  schema?.format === 'binary' || schema?.contentMediaType === 'application/octet-stream';

const UUID_NAMES = /(^|_)id$/;

function makeCases(op: Operation, doc: JsonSchema, fx: Fixtures): fc.Arbitrary<FuzzCase>[] {
  const parameters = (op.spec.parameters ?? []) as JsonSchema[];
  const pathParams = parameters.filter((p) => p.in === 'path');
  const queryParams = parameters.filter((p) => p.in === 'query');
  const content = (op.spec.requestBody?.content ?? {}) as Record<string, JsonSchema>;
  const mediaTypes = Object.keys(content);
  const needsAuth = (op.spec.security ?? []).some((s: JsonSchema) => Object.keys(s).length > 0);
  const documentedCodes = new Set(
    Object.values<JsonSchema>(op.spec.responses).flatMap((r) => r['x-error-codes'] ?? []),
  );
  const hints = fx.hints;

  // A path parameter: the real value mostly, a valid random one sometimes.
  const paramValue = (p: JsonSchema): fc.Arbitrary<string> => {
    if (p.name === 'version') return fc.constantFrom('v1', 'v2');
    if (p.name === 'network_id')
      return fc.oneof({ arbitrary: fc.constant(fx.networkId), weight: 8 }, fc.uuid());
    const generated = valueOf(p.schema ?? { type: 'string' }, doc)
      .map(String)
      .filter((s) => s.length > 0 && s !== '.' && s !== '..')
      .map(encodeURIComponent);
    const hint = hints[p.name];
    return hint
      ? fc.oneof({ arbitrary: fc.constant(encodeURIComponent(hint)), weight: 4 }, generated)
      : generated;
  };

  const pathWith = (overrides: Record<string, fc.Arbitrary<string>> = {}) =>
    fc
      .record<Record<string, string>>(
        Object.fromEntries(pathParams.map((p) => [p.name, overrides[p.name] ?? paramValue(p)])),
      )
      .map((values) => op.template.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? name));

  const queryValue = (p: JsonSchema) => {
    const hint = hints[p.name];
    const generated = valueOf(p.schema ?? { type: 'string' }, doc, hints);
    return hint ? fc.oneof({ arbitrary: fc.constant(hint), weight: 3 }, generated) : generated;
  };
  const validQuery = fc.record<Record<string, unknown>>(
    Object.fromEntries(queryParams.map((p) => [p.name, queryValue(p)])),
    { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name as string) },
  );
  const queryString = (query: Record<string, unknown>) => {
    const entries = Object.entries(query).filter(([, v]) => v !== undefined);
    if (!entries.length) return '';
    const search = new URLSearchParams();
    for (const [k, v] of entries) search.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    return `?${search.toString()}`;
  };

  // The token form reaches this operation's own network through X-Network-Id (the user owns several).
  const auth: Record<string, string> = {
    ...(needsAuth || op.form === 'token' ? { authorization: `Bearer ${fx.token}` } : {}),
    ...(op.form === 'token' ? { 'x-network-id': fx.networkId } : {}),
  };

  // Bodies, per media type: a valid one, and a field at a time replaced.
  const bodySchema = (media: string) => schemaOf(content[media], doc);
  const validFields = (media: string) =>
    valueOf(bodySchema(media), doc, hints) as fc.Arbitrary<Record<string, unknown>>;

  const encodeBody = (
    media: string,
    fields: Record<string, unknown>,
    audio?: Buffer,
  ): { headers: Record<string, string>; body: Buffer } => {
    if (media === 'application/json')
      return { headers: { 'content-type': 'application/json' }, body: json(fields) };
    if (media === 'application/octet-stream')
      return { headers: { 'content-type': 'application/octet-stream' }, body: audio ?? Buffer.alloc(0) };
    const schema = bodySchema(media);
    const parts: Record<string, string | { filename: string; content: Buffer; mimetype?: string }> = {};
    for (const [name, prop] of Object.entries<JsonSchema>(schema.properties ?? {})) {
      if (isBinary(prop)) {
        if (audio || (schema.required ?? []).includes(name) || name in fields)
          parts[name] = { filename: 'sample.wav', content: audio ?? Buffer.alloc(0), mimetype: 'audio/wav' };
        continue;
      }
      const value = fields[name];
      if (value === undefined || value === null) continue;
      parts[name] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    const form = multipart(parts);
    return { headers: { 'content-type': form.contentType }, body: form.buffer };
  };

  const hasBinaryField = mediaTypes.some(
    (m) =>
      m === 'application/octet-stream' ||
      Object.values<JsonSchema>(bodySchema(m).properties ?? {}).some(isBinary),
  );
  const smallAudio = audioBytes;

  /** A request with every part valid; `tweak` changes one part. */
  const request = (
    kind: string,
    parts: {
      path?: fc.Arbitrary<string>;
      query?: fc.Arbitrary<string>;
      headers?: fc.Arbitrary<Record<string, string>>;
      body?: fc.Arbitrary<{ headers: Record<string, string>; body: Buffer } | undefined>;
    },
  ): fc.Arbitrary<FuzzCase> =>
    fc
      .record({
        path: parts.path ?? pathWith(),
        query: parts.query ?? validQuery.map(queryString),
        headers: parts.headers ?? fc.constant(auth),
        body: parts.body ?? validBody,
      })
      .map(({ path, query, headers, body }) => ({
        kind,
        method: op.method,
        path: path + query,
        headers: { ...(body?.headers ?? {}), ...headers },
        body: body?.body,
      }));

  const validBody: fc.Arbitrary<{ headers: Record<string, string>; body: Buffer } | undefined> =
    mediaTypes.length
      ? fc
          .constantFrom(...mediaTypes)
          .chain((media) =>
            media === 'application/json'
              ? validFields(media).map((fields) => encodeBody(media, fields))
              : fc
                  .tuple(media === 'application/octet-stream' ? pcmBytes : validFields(media), smallAudio)
                  .map(([fields, audio]) =>
                    media === 'application/octet-stream'
                      ? encodeBody(media, {}, fields as Buffer)
                      : encodeBody(media, fields as Record<string, unknown>, audio),
                  ),
          )
      : fc.constant(undefined);

  /** The body with one property replaced by `value` (or the whole body replaced, for non-objects). */
  /** Names of the body's non-file properties whose schema text matches `like`. */
  const bodyFields = (like?: string) => {
    const media = mediaTypes.find((m) => m !== 'application/octet-stream') ?? mediaTypes[0];
    if (!media) return [];
    return Object.entries<JsonSchema>(bodySchema(media).properties ?? {})
      .filter(([, prop]) => !isBinary(prop))
      .filter(([, prop]) => !like || JSON.stringify(prop).includes(like))
      .map(([name]) => name);
  };
  const bodyWithField = (value: fc.Arbitrary<unknown>, like?: string) => {
    const media = mediaTypes.find((m) => m !== 'application/octet-stream') ?? mediaTypes[0];
    const names = bodyFields(like).length ? bodyFields(like) : bodyFields();
    if (!names.length || media === 'application/octet-stream') return validBody;
    return fc
      .tuple(validFields(media), fc.constantFrom(...names), value, smallAudio)
      .map(([fields, name, v, audio]) => encodeBody(media, { ...fields, [name]: v }, audio));
  };

  const queryWith = (value: fc.Arbitrary<unknown>) =>
    queryParams.length
      ? fc
          .tuple(validQuery, fc.constantFrom(...queryParams.map((p) => p.name)), value)
          .map(([query, name, v]) =>
            queryString({ ...query, [name]: typeof v === 'string' ? v : JSON.stringify(v) }),
          )
      : fc.constant('');

  const idParams = pathParams.filter((p) => p.name !== 'version');
  const pathWithNasty = (value: fc.Arbitrary<string>) =>
    idParams.length
      ? fc.constantFrom(...idParams.map((p) => p.name)).chain((name) => pathWith({ [name]: value }))
      : pathWith();

  // Boundary: strings at and just past their lengths, integers at and past their bounds.
  const boundaryValues = (schema: JsonSchema): unknown[] => {
    const out: unknown[] = [];
    const s = schema ?? {};
    const text = JSON.stringify(s);
    if (s.type === 'integer' || s.type === 'number') {
      if (s.minimum !== undefined) out.push(s.minimum, s.minimum - 1);
      if (s.maximum !== undefined && s.maximum < 1e15) out.push(s.maximum, s.maximum + 1);
      out.push(0, -1, 2 ** 31, Number.MAX_SAFE_INTEGER + 2);
    } else if (text.includes('"string"')) {
      const min = s.minLength ?? 0;
      const max = s.maxLength;
      out.push('', 'a'.repeat(Math.max(0, min - 1)));
      if (max !== undefined) out.push('a'.repeat(max), 'a'.repeat(max + 1), 'é'.repeat(max));
    }
    return out.length ? out : [null, '', 0];
  };
  const boundaryBody = (() => {
    const media = mediaTypes.find((m) => m !== 'application/octet-stream');
    if (!media) return undefined;
    const props = Object.entries<JsonSchema>(bodySchema(media).properties ?? {}).filter(
      ([, p]) => !isBinary(p),
    );
    if (!props.length) return undefined;
    return fc
      .tuple(validFields(media), fc.constantFrom(...props), fc.nat(), smallAudio)
      .map(([fields, [name, prop], pick, audio]) => {
        const values = boundaryValues(prop);
        return encodeBody(media, { ...fields, [name]: values[pick % values.length] }, audio);
      });
  })();
  const boundaryQuery = queryParams.length
    ? fc.tuple(validQuery, fc.constantFrom(...queryParams), fc.nat()).map(([query, p, pick]) => {
        const values = boundaryValues(p.schema);
        const v = values[pick % values.length];
        return queryString({ ...query, [p.name]: typeof v === 'string' ? v : JSON.stringify(v) });
      })
    : undefined;

  const categories: Array<{ kind: string; count: number; arb: fc.Arbitrary<FuzzCase> }> = [];
  const add = (kind: string, count: number, arb: fc.Arbitrary<FuzzCase> | undefined) => {
    if (arb) categories.push({ kind, count, arb });
  };

  add('valid', 6, request('valid', {}));
  add(
    'boundary',
    3,
    boundaryBody || boundaryQuery
      ? request('boundary', {
          ...(boundaryBody ? { body: boundaryBody } : {}),
          ...(!boundaryBody && boundaryQuery ? { query: boundaryQuery } : {}),
        })
      : undefined,
  );
  add(
    'wrong types',
    4,
    mediaTypes.length
      ? request('wrong types', {
          body: fc.oneof(
            bodyWithField(wrongValue),
            // The body itself of the wrong type, or missing what is required.
            fc.constantFrom(null, [], 'text', 42, true, {}).map((value) => ({
              headers: {
                'content-type': mediaTypes.includes('application/json') ? 'application/json' : mediaTypes[0],
              },
              body: json(value),
            })),
          ),
        })
      : queryParams.length
        ? request('wrong types', { query: queryWith(wrongValue) })
        : undefined,
  );
  add(
    'huge',
    2,
    request(
      'huge',
      mediaTypes.length
        ? {
            body: fc.oneof(
              bodyWithField(fc.constant(HUGE_STRING), '"string"'),
              fc.constant({
                headers: { 'content-type': mediaTypes[0] },
                body: Buffer.alloc(7 * 1024 * 1024, 0x61),
              }),
            ),
          }
        : { query: fc.constant(`?${'q'.repeat(10)}=${'x'.repeat(8_000)}`) },
    ),
  );
  add(
    'unicode and NUL',
    3,
    request(
      'unicode and NUL',
      mediaTypes.length
        ? { body: bodyWithField(nastyString) }
        : queryParams.length
          ? { query: queryWith(nastyString) }
          : {
              path: pathWithNasty(
                nastyString
                  .filter((s) => s.length > 0)
                  .map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))),
              ),
            },
    ),
  );
  add(
    'timestamps',
    bodyFields('date-time').length || queryParams.some((p) => p.schema?.format === 'date-time') ? 3 : 0,
    request(
      'timestamps',
      bodyFields('date-time').length
        ? { body: bodyWithField(nastyTimestamp, 'date-time') }
        : { query: queryWith(nastyTimestamp) },
    ),
  );
  const uuidParams = idParams.filter((p) => p.name === 'network_id' || UUID_NAMES.test(p.name));
  add(
    'malformed UUIDs',
    3,
    uuidParams.length
      ? request('malformed UUIDs', {
          path: fc
            .constantFrom(...uuidParams.map((p) => p.name))
            .chain((name) => pathWith({ [name]: malformedUuid.map(encodeURIComponent) })),
        })
      : queryParams.some((p) => p.schema?.format === 'uuid')
        ? request('malformed UUIDs', { query: queryWith(malformedUuid) })
        : mediaTypes.length
          ? request('malformed UUIDs', { body: bodyWithField(malformedUuid) })
          : undefined,
  );
  add(
    'percent-encodings',
    3,
    idParams.length
      ? request('percent-encodings', { path: pathWithNasty(nastySegment) })
      : request('percent-encodings', {
          query: fc.constantFrom(
            '?%ZZ=%ZZ',
            '?a=%',
            '?%00=%00',
            '?a=%C0%AF&a=%FF',
            '?&&==&',
            `?${'%25'.repeat(500)}`,
          ),
        }),
  );
  if (mediaTypes.length) {
    add(
      'wrong content types',
      2,
      request('wrong content types', {
        body: fc
          .tuple(
            validBody,
            fc.constantFrom(
              'text/plain',
              'application/xml',
              'application/x-www-form-urlencoded',
              'multipart/form-data',
              'application/json; charset=utf-16',
              'image/png',
              '',
              'application/octet-stream',
              'application/json',
            ),
          )
          .map(([body, type]) => ({
            headers: contentTypeHeader(type),
            body: body?.body ?? Buffer.from('{}'),
          })),
      }),
    );
    add(
      'malformed bodies',
      3,
      request('malformed bodies', {
        body: fc.oneof(
          fc.constant({ headers: { 'content-type': mediaTypes[0] }, body: Buffer.alloc(0) }),
          mediaTypes.includes('application/json')
            ? malformedJsonText.map((text) => ({
                headers: { 'content-type': 'application/json' },
                body: Buffer.from(text),
              }))
            : fc.constant({ headers: { 'content-type': mediaTypes[0] }, body: Buffer.from('{') }),
          mediaTypes.includes('multipart/form-data')
            ? fc.tuple(validBody, fc.double({ min: 0, max: 1, noNaN: true })).map(([body, cut]) => {
                const form = body?.headers['content-type']?.startsWith('multipart/')
                  ? body
                  : encodeBody('multipart/form-data', {}, Buffer.from('RIFF'));
                return {
                  headers: form.headers,
                  body: form.body.subarray(0, Math.floor(form.body.length * cut)),
                };
              })
            : fc.constant({
                headers: { 'content-type': 'application/json' },
                body: Buffer.from(deepJson(100_000)),
              }),
          mediaTypes.includes('multipart/form-data')
            ? fc.constantFrom(
                {
                  headers: { 'content-type': 'multipart/form-data; boundary=x' },
                  body: Buffer.from('--y\r\n\r\n--y--'),
                },
                {
                  headers: { 'content-type': 'multipart/form-data; boundary=x' },
                  body: Buffer.from('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end'),
                },
                {
                  headers: { 'content-type': 'multipart/form-data; boundary=' + 'b'.repeat(200) },
                  body: Buffer.from('--b--'),
                },
              )
            : fc.constant({
                headers: { 'content-type': 'application/json' },
                body: Buffer.from(deepJson(100, '{"a":', '}').replace(/}$/, '1}')),
              }),
        ),
      }),
    );
  }
  if (needsAuth || op.form === 'token') {
    add(
      'credentials',
      3,
      request('credentials', {
        headers: fc.oneof(
          fc.constantFrom(...fx.forgedTokens).map((t) => ({ authorization: `Bearer ${t}` })),
          fc.constantFrom<Record<string, string>>(
            {},
            { authorization: 'Bearer' },
            { authorization: 'Bearer ' },
            { authorization: 'Basic dXNlcjpwYXNz' },
            { authorization: `Bearer ${'a'.repeat(10_000)}` },
            { authorization: 'Bearer mk_not_a_key' },
            { 'x-api-key': 'mk_\u0000' },
            { 'x-api-key': '' },
            { authorization: `Bearer ${fx.token}`, 'x-network-id': 'not-a-uuid' },
            { authorization: `Bearer ${fx.token}`, 'x-network-id': randomUUID() },
          ),
        ),
      }),
    );
  }
  if (hasBinaryField) {
    add(
      'corrupt and bomb audio',
      4,
      request('corrupt and bomb audio', {
        body: fc
          .constantFrom(...mediaTypes.filter((m) => m !== 'application/json'))
          .chain((media) =>
            media === 'application/octet-stream'
              ? fc.oneof(pcmBytes, audioBytes).map((bytes) => encodeBody(media, {}, bytes))
              : fc
                  .tuple(validFields(media), audioBytes)
                  .map(([fields, bytes]) => encodeBody(media, fields, bytes)),
          ),
      }),
    );
  }
  if (documentedCodes.has('INVALID_IDEMPOTENCY_KEY')) {
    add(
      'idempotency keys',
      2,
      request('idempotency keys', {
        headers: fc
          .constantFrom('', ' ', 'x'.repeat(256), 'ключ', 'a\tb', randomUUID())
          .map((key) => ({ ...auth, 'idempotency-key': key })),
      }),
    );
  }
  // Headers nobody expects, on every operation.
  add(
    'odd headers',
    1,
    request('odd headers', {
      headers: fc.constantFrom(
        { ...auth, 'content-length': '-1' },
        { ...auth, prefer: 'respond-async'.repeat(100) },
        { ...auth, 'accept-encoding': 'gzip;q=0, *;q=NaN' },
        { ...auth, cookie: '\u0000=\u0000' },
        { ...auth, 'x-forwarded-for': 'not an ip' },
      ),
    }),
  );
  return categories.flatMap(({ count, arb }) => Array.from({ length: count }, () => arb));
}

// --- Checking -------------------------------------------------------------------------------------

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** `.` and `..` segments, plain or percent-encoded: URL parsing resolves them, so the path names another route. */
const DOT_SEGMENT = /\/(\.|%2e){1,2}(\/|\?|$)/i;

/** The local server's answers to what Node's HTTP parser refuses (local/server.ts). */
const TRANSPORT = /^The request (is not valid HTTP\/1\.1|line and headers are too large)$/;

function problemsOf(op: Operation, answer: Answer, c: FuzzCase): string[] {
  const problems: string[] = [];
  const documented = op.spec.responses[String(answer.status)] as JsonSchema | undefined;
  const codes: string[] | undefined = documented?.['x-error-codes'];
  let body: any;
  try {
    body = answer.text && answer.text !== '(binary)' ? JSON.parse(answer.text) : undefined;
  } catch {
    body = undefined;
  }
  if (answer.status >= 500) {
    const documented503 =
      answer.status === 503 &&
      codes?.includes(body?.error_code) &&
      body?.error_code !== 'DATABASE_UNAVAILABLE';
    const routeOwn503 = answer.status === 503 && documented && !codes;
    if (!documented503 && !routeOwn503)
      problems.push(
        `${answer.status} ${body?.error_code ?? ''}: ${String(body?.detail ?? answer.text).slice(0, 200)}`,
      );
  }
  // Not the operation's answer: the path resolved to another route, or the HTTP parser refused the message.
  const elsewhere =
    (DOT_SEGMENT.test(c.path) && ['ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED'].includes(body?.error_code)) ||
    (answer.status === 400 && body?.error_code === 'BAD_REQUEST' && TRANSPORT.test(body?.detail ?? ''));
  if (!documented && !elsewhere) problems.push(`status ${answer.status} is not documented`);
  if (answer.status >= 400 && (codes || !documented)) {
    const keys = body && typeof body === 'object' ? Object.keys(body) : [];
    const shaped =
      typeof body?.detail === 'string' &&
      typeof body?.error_code === 'string' &&
      typeof body?.timestamp === 'string' &&
      ISO.test(body.timestamp) &&
      (body.errors === undefined ||
        (Array.isArray(body.errors) &&
          body.errors.every((e: any) => typeof e?.path === 'string' && typeof e?.message === 'string')));
    if (!shaped)
      problems.push(
        `error is not {detail, error_code, timestamp}: ${answer.text.slice(0, 200)} (keys ${keys.join(',')})`,
      );
    if (body?.error_code && !(body.error_code in ERROR_CATALOGUE))
      problems.push(`error_code ${body.error_code} is not in the catalogue`);
    if (codes && body?.error_code && !codes.includes(body.error_code) && !elsewhere)
      problems.push(`error_code ${body.error_code} is not documented for ${answer.status}`);
    if (!/json/.test(answer.headers['content-type'] ?? ''))
      problems.push(`error Content-Type is ${answer.headers['content-type']}`);
  }
  if (answer.status === 503 && !answer.headers['retry-after'] && body?.error_code === 'DATABASE_UNAVAILABLE')
    problems.push('503 without Retry-After');
  return problems;
}

const preview = (c: FuzzCase) => {
  const body = c.body?.length
    ? c.body.length > 300
      ? `${c.body.length} bytes: ${JSON.stringify(c.body.subarray(0, 160).toString('latin1'))}…`
      : JSON.stringify(c.body.toString('latin1'))
    : '(none)';
  const headers = Object.fromEntries(
    Object.entries(c.headers).map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 60)}…(${v.length})` : v]),
  );
  const path = c.path.length > 300 ? `${c.path.slice(0, 200)}…(${c.path.length})` : c.path;
  return `${c.method} ${path} headers=${JSON.stringify(headers)} body=${body}`;
};

// --- The suite ------------------------------------------------------------------------------------

async function forgeTokens(userId: string): Promise<string[]> {
  const key = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
  const other = new TextEncoder().encode('another-secret-another-secret-another-secret-0123');
  const signed = (
    claims: Record<string, unknown>,
    sub: string | undefined,
    exp: number | undefined,
    secret = key,
  ) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
    if (sub !== undefined) jwt.setSubject(sub);
    if (exp !== undefined) jwt.setExpirationTime(exp);
    return jwt.sign(secret);
  };
  const now = Math.floor(Date.now() / 1000);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return Promise.all([
    signed({ type: 'access' }, 'not-a-uuid', now + 600),
    signed({ type: 'access' }, "' OR 1=1 --", now + 600),
    signed({ type: 'access' }, userId, undefined),
    signed({ type: 'access' }, userId, now - 600),
    signed({ type: 'refresh', fam: randomUUID() }, userId, now + 600),
    signed({ type: 'access' }, userId, now + 600, other),
    signed({ type: 'access' }, randomUUID(), now + 600),
    signed({ type: 'access' }, undefined, now + 600),
    signed({ type: 'access', fam: 'not-a-uuid' }, userId, now + 600),
    Promise.resolve(
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ type: 'access', sub: userId, exp: now + 600 })}.`,
    ),
    Promise.resolve('a.b.c'),
  ]);
}

/** A network of the operation's own (so a replay of one operation meets the same state), with ids in it. */
async function prepare(op: Operation, token: string, memberEmail: string) {
  const id = (r: any) => r?.id as string | undefined;
  const network = await call('POST', '/api/v1/networks', { name: `fuzz ${op.id}`.slice(0, 100) }, token);
  const P = `/api/v1/${network.id}`;
  await call('POST', `${P}/members`, { email: memberEmail }, token);
  await call('PATCH', `${P}/service/network/enable`, undefined, token);
  await call('PATCH', `${P}/service/enable`, {}, token);
  await call('POST', `${P}/service/client/register/kitchen`, {}, token);
  const person = await call('POST', `${P}/persons`, { name: 'Fuzz Person' }, token);
  const interaction = await call(
    'POST',
    `${P}/interactions`,
    {
      content: 'Hello from the fuzzer',
      interaction_type: 'text',
      person_id: id(person),
      client_id: 'kitchen',
    },
    token,
  );
  const key = await call('POST', `${P}/keys`, { name: 'fuzz key' }, token);
  return {
    network_id: network.id as string,
    person_id: id(person),
    interaction_id: id(interaction),
    conversation_id: interaction?.conversation_id as string | undefined,
    key_id: id(key),
  };
}

/**
 * `pglite` and `postgres`: through the pipeline in this process, on that driver. `http`: over real sockets
 * to `bin/serve.ts` as a child process (embedded PGlite in a temporary folder), which must still be
 * running and answering at the end.
 */
export function describeFuzz(driver: 'pglite' | 'postgres' | 'http'): void {
  const serverUrl = process.env.DATABASE_URL;
  describe.skipIf(driver === 'postgres' && !serverUrl)(`OpenAPI fuzz on ${driver} (seed ${SEED})`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    let doc: JsonSchema;
    let operations: Operation[];
    let fx: Fixtures;
    const savedGemini = process.env.GEMINI_API_KEY;
    let server: ServerProcess | undefined;
    let dataDir: string | undefined;

    beforeAll(async () => {
      // No model calls: routes that need one answer their documented 503.
      delete process.env.GEMINI_API_KEY;
      resetConfig();
      if (driver === 'http') {
        dataDir = mkdtempSync(join(tmpdir(), 'mira-fuzz-'));
        server = await spawnServer({
          DATABASE_URL: '',
          MIRA_DATA_DIR: join(dataDir, 'pgdata'),
          GEMINI_API_KEY: '',
        });
        await server.waitForLine(/Mira API ready/);
        baseUrl = server.baseUrl;
      } else if (driver === 'pglite') {
        db = await createDb({ dataDir: 'memory' });
        await migrateToLatest(db);
        drop = () => db.destroy();
      } else {
        const test = await createTestDatabase();
        db = test.db;
        drop = test.drop;
      }
      if (db) setDb(db);
      doc = JSON.parse((await send({ method: 'GET', path: '/openapi.json', headers: {} })).text);
      const all = operationsOf(doc);
      const exact = all.filter((op) => op.id === ONLY);
      operations = exact.length ? exact : all.filter((op) => !ONLY || op.id.includes(ONLY));
      // DELETE auth/me deletes the fuzzer's own account: its cases go last, when nothing needs it any more.
      const deletesAccount = (op: Operation) => op.method === 'DELETE' && op.template.endsWith('/auth/me');
      operations.sort((a, b) => Number(deletesAccount(a)) - Number(deletesAccount(b)));
      const email = `fuzz-${randomUUID().slice(0, 8)}@example.com`;
      const account = await call('POST', '/api/v1/auth/register', {
        email,
        password: 'fuzz-password-long-enough',
        username: `fuzz${randomUUID().slice(0, 6)}`,
      });
      const member = await call('POST', '/api/v1/auth/register', {
        email: `m-${email}`,
        password: 'fuzz-password-long-enough',
      });
      fx = {
        token: account.access_token,
        forgedTokens: await forgeTokens(account.user.id),
        networkId: account.network_id,
        userId: account.user.id,
        memberId: member.user.id,
        email,
        hints: {},
      };
      console.log(
        `[fuzz] ${driver}: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${operations.length} operations`,
      );
    }, 120_000);

    afterAll(async () => {
      setDb(undefined);
      await drop?.();
      baseUrl = undefined;
      await server?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (savedGemini !== undefined) process.env.GEMINI_API_KEY = savedGemini;
      resetConfig();
    });

    it(`answers every generated request of every operation as documented (≥${CASES_PER_OPERATION} each)`, async () => {
      const failures: string[] = [];
      const known: string[] = [];
      const seen = new Set<string>();
      let unsendable = 0;
      const perKind = new Map<string, number>();
      let total = 0;
      let fewest = Infinity;
      for (const op of operations) {
        const { network_id, ...ids } = await prepare(op, fx.token, `m-${fx.email}`);
        fx.networkId = network_id;
        fx.hints = {
          ...ids,
          client_id: 'kitchen',
          stream_id: 'kitchen',
          user_id: fx.memberId,
          email: fx.email,
          asset: op.template.startsWith('/redoc') ? 'redoc.standalone.js' : 'swagger-ui.css',
        };
        const generators = makeCases(op, doc, fx);
        const seed = (SEED + hash(op.id)) | 0;
        // One draw per generator slot (each category keeps its share), then top up to the case count.
        const cases: FuzzCase[] = generators.map(
          (arb, i) => fc.sample(arb, { seed: seed + i, numRuns: 1 })[0],
        );
        const all = fc.oneof(...generators);
        if (cases.length < CASES_PER_OPERATION)
          cases.push(...fc.sample(all, { seed: seed - 1, numRuns: CASES_PER_OPERATION - cases.length }));
        fewest = Math.min(fewest, cases.length);
        for (const [index, c] of cases.entries()) {
          total++;
          perKind.set(c.kind, (perKind.get(c.kind) ?? 0) + 1);
          let answer: Answer;
          try {
            answer = await send(c);
          } catch (error) {
            if (error instanceof Unsendable) {
              unsendable++;
              continue;
            }
            answer = { status: 599, headers: {}, text: `threw: ${(error as Error)?.stack ?? String(error)}` };
          }
          const problems = problemsOf(op, answer, c);
          if (!problems.length) continue;
          const line = `FUZZ_SEED=${SEED} FUZZ_OPERATION=${op.id} [${c.kind} #${index}] ${preview(c)}\n    -> ${answer.status} ${answer.text.slice(0, 300)}\n    !! ${problems.join('; ')}`;
          const bug = KNOWN_BUGS.find(
            (b) =>
              b.operation.test(op.id) &&
              (!b.request || b.request.test(preview(c))) &&
              (!b.answer || b.answer.test(answer.text)),
          );
          if (bug) seen.add(bug.bug);
          (bug ? known : failures).push(bug ? `KNOWN BUG ${bug.bug}:\n  ${line}` : line);
        }
      }
      // Still alive and answering after all of it.
      const health = await send({ method: 'GET', path: '/health/detailed', headers: {} });
      console.log(
        `[fuzz] ${driver}: ${total} cases over ${operations.length} operations (fewest per operation ${fewest}); ` +
          `by kind ${JSON.stringify(Object.fromEntries(perKind))}; ${failures.length} failures, ${known.length} known` +
          (driver === 'http' ? `; ${unsendable} not sendable over HTTP by Node's client` : ''),
      );
      if (known.length) console.log(`[fuzz] known open bugs:\n${known.slice(0, 20).join('\n')}`);
      const gone = KNOWN_BUGS.filter(
        (b) => !seen.has(b.bug) && operations.some((op) => b.operation.test(op.id)),
      );
      if (gone.length)
        console.log(`[fuzz] known bugs not seen this run (fixed?): ${gone.map((b) => b.bug).join('; ')}`);
      if (failures.length) console.log(`[fuzz] failures:\n${failures.slice(0, 60).join('\n')}`);
      expect(health.status).toBe(200);
      if (server) expect(server.exit, 'the server process is still running').toBeUndefined();
      expect(fewest).toBeGreaterThanOrEqual(CASES_PER_OPERATION);
      expect(failures.slice(0, 25)).toEqual([]);
    }, 1_200_000);
  });
}
