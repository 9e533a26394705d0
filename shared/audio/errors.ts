import { HttpError } from '../errors';

/** Why audio was refused; the catalogue gives each its HTTP status (API.md: 400, 413, 415, 422). */
export type AudioErrorCode =
  | 'EMPTY_AUDIO'
  | 'CORRUPT_AUDIO'
  | 'UNSUPPORTED_AUDIO_FORMAT'
  | 'AUDIO_TOO_LARGE'
  | 'AUDIO_TOO_LONG'
  | 'AUDIO_TOO_SHORT';

/**
 * Audio the package refuses to process. It is an HttpError, so a handler can let it through and the
 * pipeline's error handler answers `{detail, error_code, timestamp}` with the right status.
 */
export class AudioError extends HttpError {
  declare readonly code: AudioErrorCode;

  constructor(code: AudioErrorCode, detail: string, options: { cause?: unknown } = {}) {
    super(code, detail, options);
    this.name = 'AudioError';
  }
}
