import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { config } from '../config';
import { logger } from '../observability';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * JSON Web Tokens for users, signed with HS256 from `JWT_SECRET`. The `type` claim keeps one kind from being
 * used as another (a refresh token is no access token, an OAuth state is neither).
 */
export type TokenType = 'access' | 'refresh' | 'oauth_state' | 'session';

const ISSUER = 'mira';
const ALGORITHM = 'HS256';

let generatedSecret: Uint8Array | undefined;

/**
 * The signing key, read at use time so a secret loaded late (Secrets Manager) or changed by a test applies.
 * Local development without `JWT_SECRET` gets a random per-process secret (tokens die with the process);
 * production refuses to run without one, since a generated secret would differ between Lambda instances.
 */
export function signingKey(): Uint8Array {
  const cfg = config();
  if (cfg.jwtSecret) return new TextEncoder().encode(cfg.jwtSecret);
  if (cfg.production) throw new Error('JWT_SECRET is not set; tokens cannot be signed in production');
  if (!generatedSecret) {
    generatedSecret = randomBytes(32);
    logger.warn('JWT_SECRET is not set: using a random secret for this process; tokens end with it');
  }
  return generatedSecret;
}

/** Why a token was refused; `expired` lets clients know a refresh may help. */
export class TokenError extends Error {
  constructor(
    readonly reason: 'invalid' | 'expired' | 'wrong_type',
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface AccessClaims extends JWTPayload {
  sub: string;
  type: 'access';
  /** The refresh token family of the sign-in that issued it: revoking the family ends it too. */
  fam?: string;
}

export interface RefreshClaims extends JWTPayload {
  sub: string;
  type: 'refresh';
  jti: string;
  /** The refresh token family: every rotation of one login shares it. */
  fam: string;
}

/**
 * A realtime session's credential (`session_ready.session_token`): bound to the session, its network and
 * client, and to the user (or API key, `key: true`) that opened it. Valid while the session is open and
 * at most `ttlSeconds`.
 */
export interface SessionClaims extends JWTPayload {
  sub: string;
  type: 'session';
  /** The session id (the socket's realtime_connections row). */
  sid: string;
  net: string;
  cid: string;
  /** True when `sub` is an API key id rather than a user id. */
  key?: boolean;
}

const sign = async (
  claims: Record<string, unknown>,
  subject: string | undefined,
  ttlSeconds: number,
  jti?: string,
) => {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (subject) jwt.setSubject(subject);
  if (jti) jwt.setJti(jti);
  return jwt.sign(signingKey());
};

export const signAccessToken = (userId: string, familyId?: string): Promise<string> =>
  sign({ type: 'access', ...(familyId ? { fam: familyId } : {}) }, userId, config().auth.accessTokenSeconds);

export async function signRefreshToken(
  userId: string,
  familyId: string,
): Promise<{ token: string; jti: string; expiresAt: Date }> {
  const ttl = config().auth.refreshTokenSeconds;
  const jti = randomUUID();
  const token = await sign({ type: 'refresh', fam: familyId }, userId, ttl, jti);
  return { token, jti, expiresAt: new Date(Date.now() + ttl * 1000) };
}

export const signOAuthState = (claims: Record<string, unknown>, ttlSeconds = 600): Promise<string> =>
  sign(
    { ...claims, type: 'oauth_state', nonce: randomBytes(12).toString('base64url') },
    undefined,
    ttlSeconds,
  );

export const signSessionToken = (
  session: { sessionId: string; networkId: string; clientId: string; userId?: string; apiKeyId?: string },
  ttlSeconds: number,
): Promise<string> =>
  sign(
    {
      type: 'session',
      sid: session.sessionId,
      net: session.networkId,
      cid: session.clientId,
      ...(session.userId ? {} : { key: true }),
    },
    session.userId ?? session.apiKeyId,
    ttlSeconds,
  );

/** Verify signature (HS256 only, so `none` and other algorithms are refused), issuer, expiry and `type`. */
export async function verifyToken<T extends JWTPayload>(token: string, type: TokenType): Promise<T> {
  // Outside the try: a missing secret in production is a server fault (500), not the caller's bad token.
  const key = signingKey();
  let payload: JWTPayload;
  try {
    // Every token Mira signs expires: one without `exp` was not made here and would never stop working.
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'The token has expired');
    throw new TokenError('invalid', 'The token is invalid');
  }
  if (payload.type !== type) throw new TokenError('wrong_type', `This is not an ${type} token`);
  // The subject is a user id: anything else could only reach the database as a malformed UUID (a 500).
  if (type !== 'oauth_state' && !(typeof payload.sub === 'string' && UUID.test(payload.sub)))
    throw new TokenError('invalid', 'The token has no valid subject');
  return payload as T;
}

export const verifyAccessToken = (token: string) => verifyToken<AccessClaims>(token, 'access');
export const verifyRefreshToken = (token: string) => verifyToken<RefreshClaims>(token, 'refresh');
export const verifySessionToken = async (token: string): Promise<SessionClaims> => {
  const claims = await verifyToken<SessionClaims>(token, 'session');
  if (
    ![claims.sid, claims.net].every((v) => typeof v === 'string' && UUID.test(v)) ||
    typeof claims.cid !== 'string'
  )
    throw new TokenError('invalid', 'The session token is invalid');
  return claims;
};

/** A key only the holder of `token` can derive (the database keeps no token, only what this seals). */
const keyOf = (token: string) =>
  createHash('sha256').update('mira-refresh-successor:').update(token).digest();

/** Seals `value` (JSON) with AES-256-GCM under a key derived from `token`. */
export function sealWithToken(token: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(token), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** Opens what `sealWithToken` sealed with the same token; undefined for any other token or a damaged value. */
export function openWithToken<T>(token: string, sealed: string): T | undefined {
  try {
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', keyOf(token), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    const text = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
