import { HttpError } from '../errors';

/**
 * Errors of the Gemini port. They are HttpErrors, so a handler that lets one through gets the right answer
 * from the pipeline's one error handler without mapping it itself.
 */

/** No `GEMINI_API_KEY`: audio cannot be transcribed (text routes keep working). */
export class TranscriptionUnavailableError extends HttpError {
  constructor(
    detail = 'Transcription is not configured on this server (no GEMINI_API_KEY); send a transcript or try later',
    retryAfterSeconds?: number,
  ) {
    super('TRANSCRIPTION_UNAVAILABLE', detail, {
      headers: retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {},
    });
    this.name = 'TranscriptionUnavailableError';
  }
}

/** The model answered, but not usably (malformed twice, an error, a timeout): 502, nothing is stored. */
export class TranscriptionFailedError extends HttpError {
  constructor(detail: string, cause?: unknown) {
    super('TRANSCRIPTION_FAILED', detail, { cause });
    this.name = 'TranscriptionFailedError';
  }
}

/** No `GEMINI_API_KEY`, or the model is rate-limiting us: a command cannot run now. */
export class CommandUnavailableError extends HttpError {
  constructor(
    detail = 'Voice commands are not configured on this server (no GEMINI_API_KEY)',
    retryAfterSeconds?: number,
  ) {
    super('COMMAND_UNAVAILABLE', detail, {
      headers: retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {},
    });
    this.name = 'CommandUnavailableError';
  }
}

/** The command loop failed: the model errored, timed out, or kept calling tools past the bound. */
export class CommandFailedError extends HttpError {
  constructor(detail: string, cause?: unknown) {
    super('COMMAND_FAILED', detail, { cause });
    this.name = 'CommandFailedError';
  }
}

/** No `GEMINI_API_KEY`, or the model is rate-limiting us: actions cannot be extracted now. */
export class InferenceUnavailableError extends HttpError {
  constructor(
    detail = 'Inference is not configured on this server (no GEMINI_API_KEY)',
    retryAfterSeconds?: number,
  ) {
    super('INFERENCE_UNAVAILABLE', detail, {
      headers: retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {},
    });
    this.name = 'InferenceUnavailableError';
  }
}

/** The model answered, but not usably (malformed twice, an error, a timeout): 502, nothing is stored. */
export class InferenceFailedError extends HttpError {
  constructor(detail: string, cause?: unknown) {
    super('INFERENCE_FAILED', detail, { cause });
    this.name = 'InferenceFailedError';
  }
}
