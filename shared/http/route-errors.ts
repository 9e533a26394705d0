import { statusOf, type ErrorCode } from '../errors';
import type { RouteDefinition } from './route';

/** How an operation is reached: by network id in the path, by token, or at its root path. */
export type OperationForm = 'network' | 'token' | 'root';

const CREDENTIAL_ERRORS: ErrorCode[] = [
  'UNAUTHORIZED',
  'INVALID_TOKEN',
  'TOKEN_EXPIRED',
  'TOKEN_REVOKED',
  'INVALID_API_KEY',
];

/**
 * The codes the pipeline itself can answer for an operation, before or around its handler: body parsing,
 * validation, credentials, the database. `/openapi.json` documents them with the route's own `errors`, and
 * in tests an answer with a code outside both fails (see `documentedErrorCodes`).
 */
export function standardErrorCodes(route: RouteDefinition, form: OperationForm): ErrorCode[] {
  const codes: ErrorCode[] = [];
  const accepts = route.accepts ?? (route.body ? ['json'] : []);
  if (route.body) {
    codes.push('PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
    if (!route.bodyOptional) codes.push('EMPTY_BODY');
    if (accepts.includes('json')) codes.push('MALFORMED_JSON');
    if (accepts.includes('multipart')) codes.push('MALFORMED_MULTIPART');
  }
  if (form !== 'root' || route.path.includes('{')) codes.push('MALFORMED_PATH');
  if (route.params || route.query || route.body || form !== 'root') codes.push('VALIDATION_ERROR');
  const access = route.access ?? (route.scope === 'root' ? 'public' : 'network');
  if (access === 'user') codes.push(...CREDENTIAL_ERRORS, 'USER_TOKEN_REQUIRED');
  if (access === 'network') {
    codes.push(...CREDENTIAL_ERRORS, 'FORBIDDEN');
    if (form === 'network') codes.push('NETWORK_NOT_FOUND');
    if (form === 'token') codes.push('NETWORK_REQUIRED');
  }
  if (route.sessionToken) codes.push('INVALID_SESSION_TOKEN');
  if (route.idempotency)
    codes.push('INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_IN_PROGRESS', 'IDEMPOTENCY_KEY_REUSED');
  codes.push('INTERNAL_ERROR', 'DATABASE_UNAVAILABLE');
  return codes;
}

/** Every code an operation may answer with: the pipeline's and the route's own. */
export const documentedErrorCodes = (route: RouteDefinition, form: OperationForm): Set<ErrorCode> =>
  new Set([...standardErrorCodes(route, form), ...(route.errors ?? [])]);

/** Codes grouped by their HTTP status, for the docs. */
export function codesByStatus(codes: Iterable<ErrorCode>): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const list = byStatus.get(statusOf(code)) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(statusOf(code), list);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}
