import { ERROR_CATALOGUE, type ErrorCode } from './catalogue';

/** One validation problem, as API.md's 422 `errors` entries. */
export interface FieldError {
  path: string;
  message: string;
}

/** API.md's error body: `{detail, error_code, timestamp}`, plus `errors` for validation and route extras. */
export interface ErrorBody {
  detail: string;
  error_code: string;
  timestamp: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export interface HttpErrorOptions {
  headers?: Record<string, string>;
  errors?: FieldError[];
  extra?: Record<string, unknown>;
  cause?: unknown;
  /** Only for answers replayed as they were first given (Idempotency-Key); otherwise the catalogue's. */
  status?: number;
}

/**
 * An error that knows its HTTP answer: its code comes from the catalogue, which also gives its status and
 * default detail. Everything thrown in a handler that is not an HttpError becomes a 500 without internals.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  readonly errors?: FieldError[];
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, options: HttpErrorOptions = {}) {
    super(detail ?? ERROR_CATALOGUE[code].detail, { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.status = options.status ?? ERROR_CATALOGUE[code].status;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
    this.extra = options.extra;
  }

  toBody(): ErrorBody {
    return errorBody(this.code, this.message, {
      ...this.extra,
      ...(this.errors ? { errors: this.errors } : {}),
    });
  }
}

/** The error body for a code; `detail` defaults to the catalogue's. */
export const errorBody = (
  code: ErrorCode,
  detail?: string,
  extra: Record<string, unknown> = {},
): ErrorBody => ({
  detail: detail ?? ERROR_CATALOGUE[code].detail,
  error_code: code,
  timestamp: new Date().toISOString(),
  ...extra,
});
