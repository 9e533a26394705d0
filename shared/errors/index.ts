/**
 * The errors of the API: the catalogue of codes (status and default detail) and the factories built on it.
 * Throw these; the pipeline's one error handler turns them into `{detail, error_code, timestamp}`.
 */
import { type ErrorCode } from './catalogue';
import { HttpError, type FieldError, type HttpErrorOptions } from './http-error';

export { ERROR_CATALOGUE, isErrorCode, statusOf, type ErrorCode } from './catalogue';
export { errorBody, HttpError, type ErrorBody, type FieldError, type HttpErrorOptions } from './http-error';

/** An error of the catalogue, with its default detail unless one is given. */
export const httpError = (code: ErrorCode, detail?: string, options?: HttpErrorOptions) =>
  new HttpError(code, detail, options);

const retryAfter = (seconds: number | undefined) =>
  seconds ? { 'Retry-After': String(seconds) } : ({} as Record<string, string>);

/** 401 without credentials, with `WWW-Authenticate: Bearer` (RFC 6750). */
export const unauthorized = (
  detail?: string,
  code: Extract<ErrorCode, 'UNAUTHORIZED' | 'INVALID_CREDENTIALS'> = 'UNAUTHORIZED',
) => new HttpError(code, detail, { headers: { 'WWW-Authenticate': 'Bearer' } });

/** 401 for a credential that was sent but is not good (RFC 6750 `error="invalid_token"`). */
export const invalidToken = (
  detail: string,
  code: Extract<
    ErrorCode,
    | 'INVALID_TOKEN'
    | 'TOKEN_EXPIRED'
    | 'TOKEN_REVOKED'
    | 'INVALID_API_KEY'
    | 'REFRESH_TOKEN_REUSED'
    | 'INVALID_SESSION_TOKEN'
  > = 'INVALID_TOKEN',
) =>
  new HttpError(code, detail, {
    headers: {
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`,
    },
  });

export const forbidden = (
  detail?: string,
  code: Extract<
    ErrorCode,
    'FORBIDDEN' | 'NETWORK_REQUIRED' | 'USER_TOKEN_REQUIRED' | 'OWNER_REQUIRED' | 'ACCOUNT_DISABLED'
  > = 'FORBIDDEN',
) => new HttpError(code, detail);

/** 422 with the field errors of API.md. */
export const validationError = (detail: string, errors?: FieldError[]) =>
  new HttpError('VALIDATION_ERROR', detail, { errors });

/** A 503 with `Retry-After` when the caller should come back. */
export const unavailable = (code: ErrorCode, detail?: string, retryAfterSeconds?: number) =>
  new HttpError(code, detail, { headers: retryAfter(retryAfterSeconds) });

export const networkNotFound = () => new HttpError('NETWORK_NOT_FOUND');
export const personNotFound = () => new HttpError('PERSON_NOT_FOUND');
export const conversationNotFound = () => new HttpError('CONVERSATION_NOT_FOUND');
export const interactionNotFound = () => new HttpError('INTERACTION_NOT_FOUND');
export const actionNotFound = () => new HttpError('ACTION_NOT_FOUND');
export const memoryNotFound = () => new HttpError('MEMORY_NOT_FOUND');
export const clientNotFound = (clientId: string) =>
  new HttpError('CLIENT_NOT_FOUND', `Client ${clientId} is not registered in this network`);
export const clientTaken = (clientId: string) =>
  new HttpError('CLIENT_EXISTS', `Client ${clientId} already exists in this network`);
export const noSpeech = (detail?: string) => new HttpError('NO_SPEECH', detail);
