import type { FieldError } from '../errors';

/** JSON deeper than this is refused before it is parsed (nothing Mira reads nests more than a few levels). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests deeper than `maxDepth`, by one pass over its brackets outside strings: checked
 * before `JSON.parse` so a body of thousands of `[` never reaches a recursive consumer (zod, the driver's
 * serialiser) and overflows its stack.
 */
export function jsonTooDeep(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * The first text in a decoded input that PostgreSQL cannot store: a NUL character (text and jsonb refuse
 * U+0000) or a lone UTF-16 surrogate (jsonb refuses its escape). Keys count as well as values. Iterative,
 * so no input can exhaust the stack.
 */
export function unstorableText(value: unknown, where: string): FieldError | undefined {
  const stack: Array<[unknown, string]> = [[value, where]];
  while (stack.length) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return { path, message: 'must not contain NUL characters' };
      if (!current.isWellFormed()) return { path, message: 'must be valid Unicode (no lone surrogates)' };
    } else if (Buffer.isBuffer(current) || current === null || typeof current !== 'object') {
      continue;
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => stack.push([item, `${path}.${i}`]));
    } else if ('content' in current && Buffer.isBuffer(current.content)) {
      // An uploaded file: its bytes are audio, only its name and type are text.
      const file = current as { filename?: unknown; mimetype?: unknown };
      stack.push([file.filename, `${path}.filename`], [file.mimetype, `${path}.mimetype`]);
    } else {
      for (const [key, item] of Object.entries(current)) {
        if (key.includes('\u0000') || !key.isWellFormed())
          return { path: `${path}.${key.replaceAll('\u0000', '\\0')}`, message: 'keys must be valid text' };
        stack.push([item, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}
