import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import type { Db } from '../db/client';
import type { Executor } from '../db/transaction';
import type { ErrorCode } from '../errors';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Where a route lives:
 * - `scoped`: under `P` = `/api/v1|v2/{network_id}` (network-scoped) and `/api/v1|v2` (token-scoped).
 * - `root`: at its absolute path; `{version}` in it stands for v1 or v2.
 */
export type RouteScope = 'scoped' | 'root';

/** How the caller reached a route: by network id in the path, by token, or at the root. */
export type RequestScope = 'network' | 'token' | 'root';

/** Content types a route accepts; `binary` is `application/octet-stream`. */
export type BodyKind = 'json' | 'multipart' | 'form' | 'binary';

/** Who is calling, as the authorisation hook established it. */
export interface Principal {
  kind: 'anonymous' | 'user' | 'api_key' | 'legacy';
  userId?: string;
  apiKeyId?: string;
  /** The role of a user in the resolved network. */
  role?: 'owner' | 'member';
}

/** Access a route requires: `public` (no credentials), `user` (a user token, no network), `network` (the default for scoped routes). */
export type RouteAccess = 'public' | 'user' | 'network';

/** A file part of a multipart body, binary-safe. */
export interface UploadedFile {
  filename: string;
  mimetype: string;
  content: Buffer;
  truncated: boolean;
}

interface BaseContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The realtime session whose `session_token` the request carried (routes with `sessionToken`). */
  session?: { sessionId: string; clientId: string };
  scope: RequestScope;
  version: 'v1' | 'v2' | undefined;
  principal: Principal;
  db: Db;
  event: APIGatewayProxyEventV2;
  requestId: string;
  /** The request's valid `Idempotency-Key`, on routes that honour one. */
  idempotency?: IdempotencyContext;
}

/** How a handler takes part in `Idempotency-Key` (see RouteDefinition.idempotency). */
export interface IdempotencyContext {
  key: string;
  /**
   * Records the answer inside the handler's own storing transaction, so the row and the remembered answer
   * commit together (otherwise the pipeline records it right after the handler returns).
   */
  complete?: (trx: Executor, statusCode: number, body: unknown) => Promise<void>;
}

/** What a scoped route's handler gets: the network the caller was authorised for. */
export interface ScopedContext<
  P = Record<string, string>,
  Q = Record<string, unknown>,
  B = unknown,
> extends BaseContext<P, Q, B> {
  networkId: string;
}

/** What a root route's handler gets: no network (a root route that needs one reads it itself). */
export interface RootContext<
  P = Record<string, string>,
  Q = Record<string, unknown>,
  B = unknown,
> extends BaseContext<P, Q, B> {
  networkId?: undefined;
}

/** The handler context of a route of scope `S`. */
export type RequestContext<
  P = Record<string, string>,
  Q = Record<string, unknown>,
  B = unknown,
  S extends RouteScope = RouteScope,
> = S extends 'scoped' ? ScopedContext<P, Q, B> : RootContext<P, Q, B>;

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Response headers worth documenting (name -> description), e.g. a pagination cursor. */
  headers?: Record<string, string>;
}

export interface RouteDefinition<P = any, Q = any, B = any, S extends RouteScope = RouteScope> {
  method: HttpMethod;
  path: string;
  scope: S;
  /** Short summary for the API reference. */
  summary: string;
  /** Route group for the API reference (e.g. `Persons`). */
  tag: string;
  access?: RouteAccess;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Content types accepted for the body; defaults to json when a body schema is given. */
  accepts?: BodyKind[];
  /**
   * The multipart field `session_token` (a realtime session's credential) is accepted, alone or with the
   * bearer token; the handler gets `session` (API.md, "Realtime socket").
   */
  sessionToken?: boolean;
  /** Whether the body may be absent (validated as `undefined`). */
  bodyOptional?: boolean;
  /**
   * `Idempotency-Key` on a creating POST: `pipeline` replays the first answer of a key and runs the handler
   * once (it may pass `idempotency.complete` into its transaction); `handler` only validates the key and
   * hands it over, for a route with its own protocol (register).
   */
  idempotency?: 'pipeline' | 'handler';
  /** Success responses by status code. */
  responses: Record<number, ResponseSpec>;
  /**
   * The catalogue's codes this route answers with besides the pipeline's own (validation, auth, body
   * parsing: see `standardErrorCodes`). The docs list them under their status; tests fail on an answer
   * with a code that is not documented here.
   */
  errors?: readonly ErrorCode[];
  // A method, not a property, so route tables of different scopes fit one `RouteDefinition[]`.
  handler(ctx: RequestContext<P, Q, B, S>): Promise<HttpResult>;
}

/** Typed route constructor: infers params, query and body from their schemas. */
export const defineRoute = <
  P = Record<string, string>,
  Q = Record<string, unknown>,
  B = undefined,
  S extends RouteScope = RouteScope,
>(
  route: RouteDefinition<P, Q, B, S>,
): RouteDefinition<P, Q, B, S> => route;

export const ok = (body: unknown, headers?: Record<string, string>): HttpResult => ({
  statusCode: 200,
  body,
  headers,
});
export const created = (body: unknown): HttpResult => ({ statusCode: 201, body });
export const noContent = (): HttpResult => ({ statusCode: 204 });
