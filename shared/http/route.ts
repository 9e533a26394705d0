import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import type { Db } from '../db/client';

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
export type BodyKind = 'json' | 'multipart' | 'binary';

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

export interface RequestContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  params: P;
  query: Q;
  body: B;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  scope: RequestScope;
  version: 'v1' | 'v2' | undefined;
  /** The network the request is about; set for scoped routes once authorised. */
  networkId: string | undefined;
  principal: Principal;
  db: Db;
  event: APIGatewayProxyEventV2;
  requestId: string;
}

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

export interface RouteDefinition<P = any, Q = any, B = any> {
  method: HttpMethod;
  path: string;
  scope: RouteScope;
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
  /** Whether the body may be absent (validated as `undefined`). */
  bodyOptional?: boolean;
  /** Success responses by status code. */
  responses: Record<number, ResponseSpec>;
  /** Error codes this route can answer with, by status, for the docs. */
  errors?: Record<number, string>;
  handler: (ctx: RequestContext<P, Q, B>) => Promise<HttpResult>;
}

/** Typed route constructor: infers params, query and body from their schemas. */
export const defineRoute = <P = Record<string, string>, Q = Record<string, unknown>, B = undefined>(
  route: RouteDefinition<P, Q, B>,
): RouteDefinition<P, Q, B> => route;

export const ok = (body: unknown, headers?: Record<string, string>): HttpResult => ({
  statusCode: 200,
  body,
  headers,
});
export const created = (body: unknown): HttpResult => ({ statusCode: 201, body });
export const noContent = (): HttpResult => ({ statusCode: 204 });
