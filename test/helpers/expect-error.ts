import { expect } from 'vitest';

/**
 * Asserts API.md's error answer: the status, and exactly `{detail, error_code, timestamp}` (plus the
 * `errors` list of a 422). Routes whose errors carry documented extra fields assert those themselves.
 */
export function expectError(res: { status: number; body: any }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({
    detail: expect.any(String),
    error_code: code,
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    ...(res.body?.errors ? { errors: expect.any(Array) } : {}),
  });
}
