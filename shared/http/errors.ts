/** One validation problem, as API.md's 422 `errors` entries. */
export interface FieldError {
  path: string;
  message: string;
}

export interface ErrorBody {
  detail: string;
  error_code: string;
  timestamp: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

/**
 * An error that knows its HTTP answer. Everything thrown in a handler that is not an HttpError becomes a
 * 500 without internals.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly errors?: FieldError[];
  readonly extra?: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    detail: string,
    options: {
      headers?: Record<string, string>;
      errors?: FieldError[];
      extra?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
    this.extra = options.extra;
  }

  toBody(): ErrorBody {
    return errorBody(this.message, this.code, {
      ...this.extra,
      ...(this.errors ? { errors: this.errors } : {}),
    });
  }
}

export const errorBody = (detail: string, code: string, extra: Record<string, unknown> = {}): ErrorBody => ({
  detail,
  error_code: code,
  timestamp: new Date().toISOString(),
  ...extra,
});

export const badRequest = (code: string, detail: string) => new HttpError(400, code, detail);
export const unauthorized = (detail = 'Authentication required', code = 'UNAUTHORIZED') =>
  new HttpError(401, code, detail, { headers: { 'WWW-Authenticate': 'Bearer' } });
export const forbidden = (detail = 'Not a member of this network', code = 'FORBIDDEN') =>
  new HttpError(403, code, detail);
export const notFound = (code: string, detail: string) => new HttpError(404, code, detail);
export const conflict = (code: string, detail: string) => new HttpError(409, code, detail);
export const payloadTooLarge = (detail: string, code = 'PAYLOAD_TOO_LARGE') =>
  new HttpError(413, code, detail);
export const unsupportedMediaType = (detail: string, code = 'UNSUPPORTED_MEDIA_TYPE') =>
  new HttpError(415, code, detail);
export const unprocessable = (code: string, detail: string, errors?: FieldError[]) =>
  new HttpError(422, code, detail, { errors });
export const serviceUnavailable = (code: string, detail: string, retryAfterSeconds?: number) =>
  new HttpError(503, code, detail, {
    headers: retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {},
  });

export const networkNotFound = () => notFound('NETWORK_NOT_FOUND', 'Network not found');
