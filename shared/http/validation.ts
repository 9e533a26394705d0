import * as z from 'zod';
import type { FieldError } from '../errors';

/** Zod issues as API.md's `errors: [{path, message}]`, paths prefixed with where the value came from. */
export const zodIssuesToFieldErrors = (error: z.ZodError, where: string): FieldError[] =>
  error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));

/** Reusable schema pieces. */
export const uuidParam = z.uuid({ error: 'must be a UUID' });

/**
 * An opaque page cursor this server handed out, decoded into what it stands for; anything else is a 422
 * ("Not a cursor this server handed out") rather than a page from the wrong place.
 */
export const cursorToken = <T>(maxLength: number, decode: (token: string) => T | undefined) =>
  z
    .string()
    .max(maxLength)
    .transform((token, ctx) => {
      const cursor = decode(token);
      if (!cursor) ctx.addIssue({ code: 'custom', message: 'Not a cursor this server handed out' });
      return cursor ?? z.NEVER;
    });
/**
 * An ISO 8601 date-time with an offset, in years 1 to 9999: PostgreSQL (and PGlite) cannot store others,
 * and an out-of-range one would otherwise fail as a 500 at the insert.
 */
export const isoTimestamp = z.iso.datetime({ offset: true }).refine(
  (value) => {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return false;
    const year = new Date(ms).getUTCFullYear();
    return year >= 1 && year <= 9999;
  },
  { message: 'must be a date-time in years 1 to 9999' },
);
/** `client_id` as API.md defines it: letters, digits, `-`, `_`, spaces; 1 to 64 characters. */
export const clientIdSchema = z
  .string()
  .min(1)
  .max(64)
  // What device names look like ("Ankur's MacBook Air", "Küche", "客厅"): letters of any script, digits,
  // spaces, - _ ' ’ and dots; never a slash or a control character, which would break paths and logs.
  .regex(
    /^[\p{L}\p{M}\p{N}_\-'\u2019. ]+$/u,
    'may contain letters, digits, spaces, "-", "_", "\'" and "." only',
  )
  .refine((value) => value === value.trim(), 'must not start or end with a space');
export const messageSchema = z.object({ message: z.string() });
export const errorSchema = z.object({
  detail: z.string(),
  error_code: z.string(),
  timestamp: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** Dates to ISO 8601 strings in UTC, as every answer carries them. */
export const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : new Date(value).toISOString();
