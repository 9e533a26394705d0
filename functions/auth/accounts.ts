import { randomUUID } from 'node:crypto';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../../shared/auth/passwords';
import {
  openWithToken,
  sealWithToken,
  signAccessToken,
  signRefreshToken,
  TokenError,
  verifyRefreshToken,
} from '../../shared/auth/tokens';
import { config } from '../../shared/config';
import type { Db } from '../../shared/db/client';
import { advisoryLock, inTransaction } from '../../shared/db/transaction';
import {
  clearFailures,
  findRefreshTokenForUpdate,
  forgetAttempts,
  insertRefreshToken,
  markRefreshTokenUsed,
  pruneAttempts,
  recentFailures,
  recordAttempt,
  revokeRefreshFamily,
} from '../../shared/db/repositories/credentials';
import { createNetworkOwnedBy, findOwnNetworkId } from '../../shared/db/repositories/members';
import { deleteNetworks, isUniqueViolation } from '../../shared/db/repositories/networks';
import {
  findUserByEmail,
  findUserById,
  findUserByLogin,
  insertUser,
  deleteUser,
  soleOwnedNetworkIds,
} from '../../shared/db/repositories/users';
import type { User } from '../../shared/db/types';
import {
  accountThrottleKey,
  combineDecisions,
  decideThrottle,
  ipThrottleKey,
  registrationThrottleKey,
  type ThrottlePolicy,
} from '../../shared/domain/login-throttle';
import { forbidden, httpError, HttpError, invalidToken, unauthorized } from '../../shared/errors';
import type { z } from 'zod';
import type { loginBody, meResponse, registerBody, tokenResponse } from './schemas';

type TokenResponse = z.infer<typeof tokenResponse>;

export const defaultNetworkName = (user: { username: string | null; email: string }) =>
  `${user.username ?? user.email.split('@')[0]}'s network`;

/** Access token plus the first refresh token of a new family (one family per sign-in). */
export async function issueTokens(
  db: Db,
  user: User,
  familyId: string = randomUUID(),
): Promise<TokenResponse> {
  const refresh = await signRefreshToken(user.id, familyId);
  await insertRefreshToken(db, { jti: refresh.jti, familyId, userId: user.id, expiresAt: refresh.expiresAt });
  return {
    access_token: await signAccessToken(user.id, familyId),
    refresh_token: refresh.token,
    token_type: 'bearer',
    user: { id: user.id, email: user.email, username: user.username, is_active: user.is_active },
    network_id: (await findOwnNetworkId(db, user.id)) ?? null,
  };
}

const taken = (error: unknown) => {
  const constraint = (error as { constraint?: string }).constraint ?? '';
  return constraint.includes('username')
    ? httpError('USERNAME_TAKEN', 'This username is taken')
    : httpError('EMAIL_TAKEN', 'An account with this email exists');
};

/** A user, their own network (as owner) and their first tokens, all or nothing. */
export async function register(
  db: Db,
  body: z.infer<typeof registerBody>,
  ip: string,
): Promise<TokenResponse> {
  // Every registration counts against its IP (accounts are cheap to make and each one costs a hash).
  const { registrationsPerIp, registrationWindowSeconds } = config().auth;
  const ipKey = registrationThrottleKey(ip);
  const attempt = await takeAttempt(db, [
    { key: ipKey, maxFailures: registrationsPerIp, windowSeconds: registrationWindowSeconds },
  ]);
  if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterSeconds, 'registrations');
  await pruneAttempts(db, [ipKey], registrationWindowSeconds);
  if (await findUserByEmail(db, body.email))
    throw httpError('EMAIL_TAKEN', 'An account with this email exists');
  if (body.username && (await findUserByLogin(db, body.username))) {
    throw httpError('USERNAME_TAKEN', 'This username is taken');
  }
  const passwordHash = await hashPassword(body.password);
  try {
    return await inTransaction(db, async (trx) => {
      const user = await insertUser(trx, {
        email: body.email,
        username: body.username ?? null,
        passwordHash,
      });
      await createNetworkOwnedBy(trx, defaultNetworkName(user), user.id);
      return issueTokens(trx, user);
    });
  } catch (error) {
    // Two registrations racing for one email: the unique index decides.
    if (isUniqueViolation(error)) throw taken(error);
    throw error;
  }
}

interface ThrottledKey extends ThrottlePolicy {
  key: string;
}

/**
 * Counts an attempt on every key before the work it guards (a password check, a registration), unless a
 * key is over its budget. Under one advisory lock per key (taken in a fixed order), so a burst of
 * concurrent attempts is served one at a time: no burst gets more checks than the limit, whichever
 * instance serves it. The caller forgets the attempt (`ids`) when it turns out to be no failure.
 */
async function takeAttempt(
  db: Db,
  keys: ThrottledKey[],
): Promise<{ allowed: true; ids: string[] } | { allowed: false; retryAfterSeconds: number }> {
  return inTransaction(db, async (trx) => {
    // Always in the same (code-unit) order, so two attempts sharing keys cannot deadlock.
    for (const key of keys.map((k) => k.key).sort()) await advisoryLock(trx, 'loginAttempts', key);
    const windowSeconds = Math.max(...keys.map((k) => k.windowSeconds));
    const seen = await recentFailures(
      trx,
      keys.map((k) => k.key),
      windowSeconds,
    );
    const now = new Date();
    const decision = combineDecisions(keys.map((k) => decideThrottle(seen.get(k.key)!, now, k)));
    if (!decision.allowed) return decision;
    return {
      allowed: true as const,
      ids: await recordAttempt(
        trx,
        keys.map((k) => k.key),
      ),
    };
  });
}

export const tooManyAttempts = (retryAfterSeconds: number, what = 'failed logins') =>
  new HttpError('TOO_MANY_ATTEMPTS', `Too many ${what}; try again in ${retryAfterSeconds} s`, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

/**
 * Password login, throttled per account and per IP from the rows of `login_attempts`, so every Lambda
 * instance sees the same count. A throttled caller is refused before the password is even checked.
 */
export async function login(db: Db, body: z.infer<typeof loginBody>, ip: string): Promise<TokenResponse> {
  const identifier = (body.email ?? body.username)!;
  const { loginMaxFailuresPerAccount, loginMaxFailuresPerIp, loginWindowSeconds } = config().auth;
  const user = await findUserByLogin(db, identifier);
  // Keyed by the account itself when it exists, so its email and its username share one budget.
  const accountKey = accountThrottleKey(user?.id ?? identifier);
  const ipKey = ipThrottleKey(ip);
  const attempt = await takeAttempt(db, [
    { key: accountKey, maxFailures: loginMaxFailuresPerAccount, windowSeconds: loginWindowSeconds },
    { key: ipKey, maxFailures: loginMaxFailuresPerIp, windowSeconds: loginWindowSeconds },
  ]);
  if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterSeconds);

  const valid = user?.password_hash
    ? await verifyPassword(user.password_hash, body.password)
    : (await burnPasswordCheck(body.password), false);
  if (!user || !valid) {
    // The attempt was counted before the check; it stays as the failure.
    await pruneAttempts(db, [accountKey, ipKey], loginWindowSeconds);
    throw unauthorized('Wrong email, username or password', 'INVALID_CREDENTIALS');
  }
  if (!user.is_active) throw forbidden('This account is disabled', 'ACCOUNT_DISABLED');
  // A good login forgives the account's failures and is no failure of its IP.
  await clearFailures(db, accountKey);
  await forgetAttempts(db, attempt.ids);
  return issueTokens(db, user);
}

type RefreshOutcome =
  { kind: 'ok'; tokens: TokenResponse } | { kind: 'reused' } | { kind: 'invalid'; detail: string };

/**
 * Rotation: each refresh token works once and is replaced by a new one of the same family. A token used a
 * second time means it was copied; the whole family is revoked, so the thief's and the owner's both stop.
 */
export async function refresh(db: Db, token: string): Promise<TokenResponse> {
  let claims;
  try {
    claims = await verifyRefreshToken(token);
  } catch (error) {
    if (error instanceof TokenError) {
      throw invalidToken(error.message, error.reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN');
    }
    throw error;
  }
  const outcome = await inTransaction(db, async (trx): Promise<RefreshOutcome> => {
    const grace = config().auth.refreshReuseGraceSeconds;
    const row = await findRefreshTokenForUpdate(trx, claims.jti, grace);
    if (!row || row.user_id !== claims.sub) return { kind: 'invalid', detail: 'Unknown refresh token' };
    if (row.revoked_at) return { kind: 'invalid', detail: 'This refresh token has been revoked' };
    if (row.used_at) {
      // Both desktop generations refresh once per failed request: the parallel refreshes of one expiry
      // get the pair the first one was given. Later reuse is a copied token: the family is revoked.
      const successor =
        row.in_grace && row.successor ? openWithToken<TokenResponse>(token, row.successor) : undefined;
      if (successor) return { kind: 'ok', tokens: successor };
      await revokeRefreshFamily(trx, row.family_id);
      return { kind: 'reused' };
    }
    const user = await findUserById(trx, row.user_id);
    if (!user || !user.is_active)
      return { kind: 'invalid', detail: 'The user no longer exists or is disabled' };
    const tokens = await issueTokens(trx, user, row.family_id);
    await markRefreshTokenUsed(trx, row.jti, grace > 0 ? sealWithToken(token, tokens) : undefined);
    return { kind: 'ok', tokens };
  });
  // Thrown after the commit, so the family's revocation stays.
  if (outcome.kind === 'reused') {
    throw invalidToken('This refresh token was already used; sign in again', 'REFRESH_TOKEN_REUSED');
  }
  if (outcome.kind === 'invalid') throw invalidToken(outcome.detail);
  return outcome.tokens;
}

/** The signed-in account as GET /auth/me shows it; never its password hash. */
export async function currentUser(db: Db, userId: string): Promise<z.infer<typeof meResponse>> {
  const user = await findUserById(db, userId);
  if (!user) throw invalidToken('The user of this token no longer exists or is disabled');
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    has_password: user.password_hash !== null,
    created_at: new Date(user.created_at).toISOString(),
  };
}

/**
 * Deletes the account (the app asks from Settings, after the person typed its email): the user with their
 * credentials, tokens and memberships, and the networks they alone own with everything in them (persons
 * and voiceprints, conversations, interactions, actions), in one transaction. Networks with another owner
 * stay, without this member. Its access tokens stop at once: their user is gone.
 */
export const deleteAccount = (db: Db, userId: string): Promise<void> =>
  inTransaction(db, async (trx) => {
    const owned = await soleOwnedNetworkIds(trx, userId);
    await deleteNetworks(trx, owned);
    await deleteUser(trx, userId, accountThrottleKey(userId));
  });
