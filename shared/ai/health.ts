import { isApiError } from './api-error';
import { logger } from '../observability';

/**
 * How the model has been doing for this instance, for `/health/detailed`: a key alone says nothing about
 * whether Gemini answers, so the check reports what the last calls did. Per process (each Lambda instance
 * and the local server see their own calls); a failure counts for RECENT_MS unless a success came after it.
 */
const RECENT_MS = 5 * 60_000;

interface Failure {
  at: number;
  what: string;
  status: number | undefined;
  errorClass: string;
}

let lastSuccessAt: number | undefined;
let lastFailure: Failure | undefined;

export function recordModelSuccess(): void {
  lastSuccessAt = Date.now();
}

/** Logs the cause of a failed model call (WARN) and remembers it for the health check. */
export function recordModelFailure(what: string, error: unknown, maxAttempts: number): void {
  const status = isApiError(error) ? error.status : undefined;
  const errorClass = error instanceof Error ? error.name || error.constructor.name : typeof error;
  lastFailure = { at: Date.now(), what, status, errorClass };
  // Retryable failures (408/429/5xx, timeouts) were tried maxAttempts times by the SDK before this.
  logger.warn('model call failed', {
    call: what,
    http_status: status,
    error_class: errorClass,
    error: error instanceof Error ? error.message : String(error),
    max_attempts: maxAttempts,
  });
}

export type ModelHealth =
  | { status: 'not_configured'; detail: string }
  | { status: 'configured'; detail: string }
  | { status: 'healthy'; last_success_at: string }
  | { status: 'degraded'; detail: string; last_failure_at: string };

export function modelHealth(configured: boolean, now = Date.now()): ModelHealth {
  if (!configured)
    return { status: 'not_configured', detail: 'GEMINI_API_KEY is not set; audio transcription is off' };
  const failing = lastFailure && now - lastFailure.at < RECENT_MS && (lastSuccessAt ?? 0) < lastFailure.at;
  if (failing && lastFailure) {
    const cause = lastFailure.status ? `HTTP ${lastFailure.status}` : lastFailure.errorClass;
    return {
      status: 'degraded',
      detail: `the last ${lastFailure.what} call failed (${cause})`,
      last_failure_at: new Date(lastFailure.at).toISOString(),
    };
  }
  if (lastSuccessAt) return { status: 'healthy', last_success_at: new Date(lastSuccessAt).toISOString() };
  return { status: 'configured', detail: 'a key is set; no model call has been made yet' };
}

/** Tests: forget what earlier calls did. */
export function resetModelHealth(): void {
  lastSuccessAt = undefined;
  lastFailure = undefined;
}
