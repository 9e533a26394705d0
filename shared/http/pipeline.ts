import middy, { type MiddlewareObj, type Request } from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpSecurityHeaders from '@middy/http-security-headers';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { config } from '../config';
import { getDb, isConnectionError } from '../db/client';
import {
  invalidIdempotencyKey,
  isValidIdempotencyKey,
  requestFingerprint,
  withIdempotency,
} from '../db/repositories/idempotency';
import { logger, metrics, MetricUnit } from '../observability';
import { traceInvocation } from '../observability/tracer';
import { defaultAuthorizer, type Authorizer } from './auth';
import { httpError, HttpError, validationError } from '../errors';
import type { BodyKind, HttpResult, IdempotencyContext, RequestContext, RouteDefinition } from './route';
import { documentedErrorCodes, type OperationForm } from './route-errors';
import { jsonTooDeep, MAX_JSON_DEPTH, unstorableText } from './input-guards';
import { parseMultipart } from './multipart';
import { Router } from './router';
import { zodIssuesToFieldErrors } from './validation';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

export interface HandlerOptions {
  /** Replaces the default authorisation hook (tests, special contexts). */
  authorize?: Authorizer;
  /** Content-Security-Policy override, for HTML pages that load their own scripts. */
  contentSecurityPolicy?: Record<string, string>;
  /**
   * Lambda response streaming (a Function URL with RESPONSE_STREAM): Middy's streamifyResponse mode pipes
   * a Readable body to the client as it is written. Only inside the Lambda runtime, which provides it.
   */
  streaming?: boolean;
}

interface PipelineInternal {
  routeKey?: string;
  /** The matched route and how it was reached, to check that an error answer is documented. */
  route?: RouteDefinition;
  form?: OperationForm;
  networkId?: string;
  startedAt?: number;
}

const uuid = z.uuid();

/** A dropped connection is replaced on the next request: the client may come back at once. */
const DATABASE_RETRY_AFTER_SECONDS = 1;

/** Per-invocation state shared by the observability middleware and the dispatcher, keyed by the Lambda context. */
const invocationState = new WeakMap<object, PipelineInternal>();

const headerLookup = (event: ApiEvent): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return headers;
};

/** Query string to an object; a repeated key becomes an array. */
const parseQuery = (event: ApiEvent): Record<string, string | string[]> => {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(event.rawQueryString ?? '')) {
    const existing = query[key];
    query[key] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  return query;
};

const bodyKindOf = (contentType: string | undefined): BodyKind | 'other' | undefined => {
  if (!contentType) return undefined;
  const mime = contentType.split(';')[0].trim().toLowerCase();
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json';
  if (mime === 'multipart/form-data') return 'multipart';
  if (mime === 'application/x-www-form-urlencoded') return 'form';
  if (mime === 'application/octet-stream' || mime.startsWith('audio/')) return 'binary';
  return 'other';
};

/** The form's `session_token` field, when it is a non-empty string. */
const sessionTokenField = (form: unknown): string | undefined => {
  const value = (form as { session_token?: unknown } | undefined)?.session_token;
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
};

const rawBody = (event: ApiEvent): Buffer =>
  event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);

async function parseBody(
  bytes: Buffer,
  route: RouteDefinition,
  headers: Record<string, string>,
): Promise<unknown> {
  if (!route.body) return undefined;
  const maxBytes = config().maxBodyBytes;
  if (bytes.length > maxBytes) {
    throw httpError('PAYLOAD_TOO_LARGE', `Request body is ${bytes.length} bytes; the limit is ${maxBytes}`);
  }
  const accepts = route.accepts ?? ['json'];
  const kind = bodyKindOf(headers['content-type']);
  if (bytes.length === 0) {
    if (route.bodyOptional) return undefined;
    throw new HttpError('EMPTY_BODY', 'A request body is required');
  }
  if (kind === undefined || kind === 'other' || !accepts.includes(kind)) {
    const wanted = accepts.map(
      (k) =>
        ({
          json: 'application/json',
          multipart: 'multipart/form-data',
          form: 'application/x-www-form-urlencoded',
          binary: 'application/octet-stream',
        })[k],
    );
    throw httpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${headers['content-type'] ?? '(none)'} is not accepted here; send ${wanted.join(' or ')}`,
    );
  }
  if (kind === 'json') {
    const text = bytes.toString('utf8');
    if (jsonTooDeep(text))
      throw validationError(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, [
        { path: 'body', message: `nests deeper than ${MAX_JSON_DEPTH} levels` },
      ]);
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError('MALFORMED_JSON', 'The request body is not valid JSON');
    }
  }
  if (kind === 'binary') return bytes;
  if (kind === 'form') {
    // Text fields only, as a browser form posts them; the first of a repeated name wins, as in multipart.
    const form: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(bytes.toString('utf8')))
      if (!(name in form)) form[name] = value;
    return form;
  }
  return parseMultipart(bytes, headers['content-type'], {
    fileBytes: maxBytes,
    files: 5,
    fields: 50,
    fieldBytes: 64 * 1024,
  });
}

/**
 * The `Idempotency-Key` of a route that honours one. A key that is sent must be valid: an empty or
 * over-long one is 422, never taken for "no key" (it would then be stored and collide with the next one).
 */
function idempotencyKeyOf(route: RouteDefinition, headers: Record<string, string>): string | undefined {
  if (!route.idempotency || !('idempotency-key' in headers)) return undefined;
  const key = headers['idempotency-key'];
  if (!isValidIdempotencyKey(key)) throw invalidIdempotencyKey();
  return key;
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  // A part the route does not read (a query string on GET /health) is ignored, NUL or not.
  if (!schema) return value as T;
  const unstorable = unstorableText(value, where);
  if (unstorable)
    throw validationError(`Invalid ${where}: ${unstorable.path}: ${unstorable.message}`, [unstorable]);
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = zodIssuesToFieldErrors(result.error, where);
  throw validationError(`Invalid ${where}: ${errors[0].path}: ${errors[0].message}`, errors);
}

function toApiResult(result: HttpResult): ApiResult {
  const headers: Record<string, string> = { ...result.headers };
  if (result.body === undefined || result.statusCode === 204)
    return { statusCode: result.statusCode, headers, body: '' };
  // A streamed answer (text/event-stream) goes out as it is written: Middy's streamifyResponse pipes it in
  // Lambda, the local server writes it chunk by chunk.
  if (typeof result.body === 'object' && result.body !== null && Symbol.asyncIterator in result.body)
    return { statusCode: result.statusCode, headers, body: result.body as unknown as string };
  if (Buffer.isBuffer(result.body)) {
    return {
      statusCode: result.statusCode,
      headers,
      body: result.body.toString('base64'),
      isBase64Encoded: true,
    };
  }
  if (typeof result.body === 'string' && headers['Content-Type']) {
    return { statusCode: result.statusCode, headers, body: result.body };
  }
  headers['Content-Type'] ??= 'application/json';
  return { statusCode: result.statusCode, headers, body: JSON.stringify(result.body) };
}

/** In tests every answer is checked against its documented schema, so the docs cannot drift. */
function checkResponse(route: RouteDefinition, result: HttpResult): void {
  if (!config().validateResponses) return;
  const spec = route.responses[result.statusCode];
  if (!spec)
    throw new Error(
      `${route.method} ${route.path} answered ${result.statusCode}, which it does not document`,
    );
  if (!spec.schema) return;
  const parsed = spec.schema.safeParse(result.body);
  if (!parsed.success) {
    throw new Error(
      `${route.method} ${route.path} answered a body its schema rejects: ${parsed.error.message}`,
    );
  }
}

function dispatcher(router: Router, authorize: Authorizer) {
  return async (event: ApiEvent, context: Context, internal: PipelineInternal): Promise<ApiResult> => {
    const method = event.requestContext.http.method.toUpperCase();
    if (method === 'OPTIONS') return { statusCode: 204, headers: {}, body: '' };
    const match = router.match(method, event.rawPath);
    if (match.kind === 'malformed_path') throw httpError('MALFORMED_PATH');
    if (match.kind === 'not_found') throw new HttpError('ROUTE_NOT_FOUND', `No route for ${event.rawPath}`);
    if (match.kind === 'method_not_allowed') {
      throw new HttpError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${event.rawPath}`, {
        headers: { Allow: match.allowed.join(', ') },
      });
    }
    const { route, scoped } = match;
    internal.routeKey = `${route.method} ${route.scope === 'scoped' ? 'P' : ''}${route.path}`;
    internal.route = route;
    internal.form = scoped.scope;
    const headers = headerLookup(event);
    if (scoped.scope === 'network' && !uuid.safeParse(scoped.networkSegment).success) {
      throw validationError('network_id must be a UUID', [
        { path: 'path.network_id', message: 'Invalid UUID' },
      ]);
    }
    const db = await getDb();
    // Credentials before input: a caller without access learns nothing, not even what the route expects.
    // A realtime session token travels in the form: that body is read first (API.md, "Realtime socket").
    const readsSession = route.sessionToken && bodyKindOf(headers['content-type']) === 'multipart';
    // Decoded once: the body parser and the idempotency fingerprint read the same bytes.
    const bytes = rawBody(event);
    const early = readsSession ? { value: await parseBody(bytes, route, headers) } : undefined;
    const sessionToken = sessionTokenField(early?.value);
    const access = await authorize({ route, scoped, headers, db, event, sessionToken });
    const params: unknown = validate(route.params, match.params, 'path');
    const query: unknown = validate(route.query, parseQuery(event), 'query');
    internal.networkId = access.networkId;
    if (access.networkId) logger.appendKeys({ network_id: access.networkId });
    const rawBodyValue = early ? early.value : await parseBody(bytes, route, headers);
    const body: unknown =
      rawBodyValue === undefined && route.bodyOptional
        ? undefined
        : validate(route.body, rawBodyValue, 'body');
    const ctx: RequestContext & { idempotency?: IdempotencyContext } = {
      params: params as Record<string, string>,
      query: query as Record<string, unknown>,
      body,
      headers,
      scope: scoped.scope,
      version: scoped.version,
      networkId: access.networkId,
      principal: access.principal,
      session: access.session,
      db,
      event,
      requestId: context.awsRequestId,
    };
    const key = idempotencyKeyOf(route, headers);
    if (key && route.idempotency === 'handler') ctx.idempotency = { key };
    if (key && route.idempotency === 'pipeline' && ctx.networkId) {
      const fingerprint = requestFingerprint(route.method, route.path, bytes);
      const answer = await withIdempotency(
        db,
        { networkId: ctx.networkId, key, fingerprint },
        async (complete) => {
          const result = await route.handler({ ...ctx, idempotency: { key, complete } });
          checkResponse(route, result);
          return { statusCode: result.statusCode, body: result.body };
        },
      );
      return toApiResult({
        statusCode: answer.statusCode,
        body: answer.body,
        headers: answer.replayed ? { 'Idempotent-Replayed': 'true' } : undefined,
      });
    }
    const result = await route.handler(ctx);
    checkResponse(route, result);
    return toApiResult(result);
  };
}

const INFO_OR_FINER = new Set(['TRACE', 'DEBUG', 'INFO']);

/** Forgets what one request stored, so the next one starts clean (what publishStoredMetrics does). */
const clearRequestMetrics = () => {
  metrics.clearMetrics();
  metrics.clearDimensions();
  metrics.clearMetadata();
};

/**
 * One stdout line per request: the structured log line, which is also the request's EMF document
 * (per-route count, latency and errors, and the business metrics the handler counted). CloudWatch Logs
 * extracts metrics from any JSON line carrying `_aws`, so the separate EMF line Powertools' logMetrics
 * printed, a second serialisation and write per request, is not needed. When INFO lines are not printed
 * (LOG_LEVEL=WARN) the metrics are flushed on their own line, so no metric is ever lost. The cold-start
 * metric stays its own line, once per instance.
 */
const requestObservability = (): MiddlewareObj<ApiEvent, ApiResult> => {
  const finish = (request: Request<ApiEvent, ApiResult>) => {
    const internal = invocationState.get(request.context) ?? {};
    const status = request.response?.statusCode ?? 500;
    const durationMs =
      Math.round((performance.now() - (internal.startedAt ?? performance.now())) * 100) / 100;
    const route = internal.routeKey ?? 'unmatched';
    const fields = {
      method: request.event.requestContext?.http?.method,
      path: request.event.rawPath,
      route,
      network_id: internal.networkId,
      status,
      duration_ms: durationMs,
    };
    if (metrics.isDisabled()) {
      clearRequestMetrics();
      logger.info('request completed', fields);
      return;
    }
    metrics.addDimension('route', route);
    metrics.addMetric('RequestCount', MetricUnit.Count, 1);
    metrics.addMetric('Latency', MetricUnit.Milliseconds, durationMs);
    if (status >= 500) metrics.addMetric('Errors', MetricUnit.Count, 1);
    else if (status >= 400) metrics.addMetric('ClientErrors', MetricUnit.Count, 1);
    if (!INFO_OR_FINER.has(logger.getLevelName())) {
      metrics.publishStoredMetrics();
      return;
    }
    let emf: Record<string, unknown>;
    try {
      emf = metrics.serializeMetrics();
    } finally {
      clearRequestMetrics();
    }
    // The logger writes the same `service` itself (a reserved key it would warn about and drop).
    delete emf.service;
    logger.info('request completed', { ...emf, ...fields });
  };
  return {
    before: (request) => {
      invocationState.set(request.context, { startedAt: performance.now() });
      logger.appendKeys({ request_id: request.context?.awsRequestId });
      // A no-op after the first invocation of the instance.
      if (!metrics.isDisabled()) metrics.captureColdStartMetric(request.context?.functionName);
    },
    after: finish,
    onError: finish,
  };
};

/**
 * Any failure as the one HttpError it answers with: its own; in tests a 500 for a code the route does not
 * document (so the docs cannot drift); 503 for a database that is gone; a client error of Middy's own
 * middlewares (http-errors) with its status; anything else a 500 without internals.
 */
function answerFor(error: Error & { statusCode?: number; expose?: boolean }, internal?: PipelineInternal) {
  if (error instanceof HttpError) {
    const { route, form } = internal ?? {};
    if (config().validateResponses && route && form && !documentedErrorCodes(route, form).has(error.code))
      return httpError(
        'INTERNAL_ERROR',
        `${internal!.routeKey} answered ${error.code}, which it does not document`,
      );
    return error;
  }
  if (isConnectionError(error)) {
    logger.warn('database unavailable', { error: String(error?.message) });
    return httpError('DATABASE_UNAVAILABLE', undefined, {
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
    });
  }
  if (error?.statusCode && error.statusCode < 500 && error.expose !== false)
    return httpError('BAD_REQUEST', error.message, { status: error.statusCode });
  logger.error('unhandled error', { error });
  return httpError('INTERNAL_ERROR');
}

/** Turns every failure into API.md's `{detail, error_code, timestamp}`; a 500 never shows internals. */
const errorShape = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  onError: (request) => {
    const answer = answerFor(request.error as Error, invocationState.get(request.context));
    request.response = {
      statusCode: answer.status,
      headers: { 'Content-Type': 'application/json', ...answer.headers },
      body: JSON.stringify(answer.toBody()),
    };
  },
});

/**
 * Turns a context's route table into the Lambda handler for API Gateway HTTP API (payload 2.0) events.
 * The local server calls the very same handler.
 */
export function createHandler(routes: RouteDefinition[], options: HandlerOptions = {}): ApiHandler {
  const router = new Router(routes);
  const dispatch = dispatcher(router, options.authorize ?? defaultAuthorizer);
  const cfg = config();
  const handler = middy<ApiEvent, ApiResult>(
    options.streaming ? { executionMode: executionModeStreamifyResponse } : undefined,
  )
    .use(traceInvocation<ApiEvent, ApiResult>())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(requestObservability())
    .use(
      httpSecurityHeaders(
        options.contentSecurityPolicy ? { contentSecurityPolicy: options.contentSecurityPolicy } : {},
      ) as MiddlewareObj<ApiEvent, ApiResult>,
    )
    .use(
      httpCors({
        origins: cfg.corsOrigins,
        credentials: !cfg.corsOrigins.includes('*'),
        headers: 'Authorization,Content-Type,Idempotency-Key,X-API-Key,X-Network-Id,Prefer',
        methods: 'GET,POST,PUT,PATCH,DELETE,OPTIONS',
        // A browser app may read the pagination headers of GET P/interactions.
        exposeHeaders: 'Link,Next-Cursor',
        maxAge: 600,
      }) as MiddlewareObj<ApiEvent, ApiResult>,
    )
    .use(errorShape())
    .handler((event, context) => {
      let internal = invocationState.get(context);
      if (!internal) invocationState.set(context, (internal = {}));
      return dispatch(event, context, internal);
    });
  return handler;
}
