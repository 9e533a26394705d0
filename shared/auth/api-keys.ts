import { createHash, randomBytes } from 'node:crypto';

/** Every network API key starts with this, so a bearer credential is told apart from a JWT at a glance. */
export const API_KEY_PREFIX = 'mk_';

export const isApiKey = (credential: string): boolean => credential.startsWith(API_KEY_PREFIX);

/** A new key: 256 random bits, shown once; only its hash and a short prefix (for lists) are stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, API_KEY_PREFIX.length + 8), hash: hashApiKey(key) };
}

/**
 * SHA-256, not argon2: the key is 256 random bits, so there is nothing to brute-force, and it is checked on
 * every request, where a slow hash would cost real latency. A fast hash also allows an indexed lookup.
 */
export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');
