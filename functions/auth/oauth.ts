import { signOAuthState, TokenError, verifyToken } from '../../shared/auth/tokens';
import { config, type OAuthProviderConfig } from '../../shared/config';
import type { Db } from '../../shared/db/client';
import { inTransaction } from '../../shared/db/transaction';
import { revokeUserRefreshTokens } from '../../shared/db/repositories/credentials';
import { createNetworkOwnedBy } from '../../shared/db/repositories/members';
import {
  findUserByEmail,
  findUserByProvider,
  insertUser,
  linkProvider,
} from '../../shared/db/repositories/users';
import { forbidden, httpError, HttpError, unavailable } from '../../shared/errors';
import { logger } from '../../shared/observability';
import { defaultNetworkName, issueTokens } from './accounts';

export type Provider = 'google' | 'github';

/** What a provider tells us about the person who signed in. */
export interface ProviderIdentity {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
}

const PROVIDER_TIMEOUT_MS = 10_000;

function providerConfig(
  provider: Provider,
): OAuthProviderConfig & { clientId: string; clientSecret: string } {
  const cfg = config().auth[provider];
  if (!cfg.clientId || !cfg.clientSecret) {
    throw unavailable('OAUTH_NOT_CONFIGURED', `${provider} sign-in is not configured on this server`);
  }
  return cfg as OAuthProviderConfig & { clientId: string; clientSecret: string };
}

/** The desktop app's loopback redirect for its `redirect_port`. */
export const desktopRedirectUri = (port: number) =>
  config().auth.oauthRedirectUri.replace('{port}', String(port));

function consentUrl(provider: Provider, redirectUri: string, state: string): string {
  const cfg = providerConfig(provider);
  const url = new URL(cfg.authorizeUrl);
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('state', state);
  if (provider === 'google') {
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'openid email profile');
    url.searchParams.set('prompt', 'select_account');
  } else {
    url.searchParams.set('scope', 'read:user user:email');
  }
  return url.toString();
}

/** The provider's consent page, with a signed `state` that names the provider and port (10 minutes). */
export async function authorizationUrl(
  provider: Provider,
  port: number,
): Promise<{ url: string; state: string }> {
  providerConfig(provider);
  const state = await signOAuthState({ provider, redirect_port: port });
  return { url: consentUrl(provider, desktopRedirectUri(port), state), state };
}

/** Where a browser sign-in returns to: an allow-listed web app origin and a path on it. */
export interface WebReturn {
  spaOrigin: string;
  next: string;
}

const MAX_NEXT_LENGTH = 2048;

/** The origin of an http(s) URL; undefined for anything else (opaque origins such as data: are "null"). */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks `spa_origin` against `OAUTH_WEB_ORIGINS` and `next` as a same-origin path, so that neither can
 * send the browser (and the tokens in its query) anywhere else. Without `spa_origin` the first configured
 * origin is used; without `next`, the app's root.
 */
export function webReturn(spaOrigin: string | undefined, next: string | undefined): WebReturn {
  const allowed = config().auth.oauthWebOrigins;
  if (allowed.length === 0) {
    throw unavailable('OAUTH_NOT_CONFIGURED', 'Browser sign-in is not configured on this server');
  }
  let origin = allowed[0];
  if (spaOrigin !== undefined) {
    // Only an exact origin (scheme, host, port; no path, no credentials) that the allow-list names.
    const parsed = originOf(spaOrigin);
    if (!parsed || spaOrigin.replace(/\/+$/, '') !== parsed || !allowed.some((a) => originOf(a) === parsed))
      throw httpError('OAUTH_ORIGIN_NOT_ALLOWED');
    origin = parsed;
  }
  const path = next ?? '/';
  // A path, not `//host` or `/\\host` (browsers read both as another host), without control characters.
  const looksLikePath =
    path.length <= MAX_NEXT_LENGTH && /^\/(?![/\\])/.test(path) && !/[\p{Cc}\\]/u.test(path);
  if (!looksLikePath || new URL(path, origin).origin !== origin) throw httpError('INVALID_NEXT_PATH');
  return { spaOrigin: origin, next: path };
}

/** Google's consent page for a browser sign-in; the signed state carries where to return and the callback. */
export async function webAuthorizationUrl(target: WebReturn, callbackUrl: string): Promise<string> {
  providerConfig('google');
  const state = await signOAuthState({
    provider: 'google',
    flow: 'web',
    spa_origin: target.spaOrigin,
    next: target.next,
    callback_url: callbackUrl,
  });
  return consentUrl('google', callbackUrl, state);
}

/** A browser sign-in's state: ours, unexpired, for the web flow, and still for an allowed origin. */
export async function checkWebState(state: string): Promise<WebReturn & { callbackUrl: string }> {
  let claims: { provider?: string; flow?: string; spa_origin?: string; next?: string; callback_url?: string };
  try {
    claims = await verifyToken(state, 'oauth_state');
  } catch (error) {
    if (error instanceof TokenError)
      throw httpError('INVALID_OAUTH_STATE', 'The OAuth state is invalid or expired');
    throw error;
  }
  if (claims.provider !== 'google' || claims.flow !== 'web' || !claims.callback_url) {
    throw httpError('INVALID_OAUTH_STATE', 'The state is not for a browser sign-in');
  }
  // Re-checked: the allow-list may have shrunk since the sign-in began.
  return { ...webReturn(claims.spa_origin, claims.next), callbackUrl: claims.callback_url };
}

/** The `state` must be ours, unexpired, and for this provider; it carries the port of the redirect. */
export async function checkState(state: string, provider: Provider): Promise<number> {
  try {
    const claims = await verifyToken<{ provider?: string; redirect_port?: number }>(state, 'oauth_state');
    if (claims.provider !== provider) throw new TokenError('invalid', 'state is for another provider');
    return Number(claims.redirect_port);
  } catch (error) {
    if (error instanceof TokenError)
      throw httpError('INVALID_OAUTH_STATE', 'The OAuth state is invalid or expired');
    throw error;
  }
}

async function callProvider<T>(provider: Provider, url: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (error) {
    logger.warn('oauth provider unreachable', { provider, error });
    throw unavailable('OAUTH_PROVIDER_UNAVAILABLE', `${provider} could not be reached`, 5);
  }
  const body = (await response.json().catch(() => undefined)) as (T & { error?: string }) | undefined;
  if (!response.ok || !body || body.error) {
    logger.warn('oauth provider refused', { provider, status: response.status, error: body?.error });
    throw new HttpError('OAUTH_EXCHANGE_FAILED', `${provider} did not accept the authorization code`, {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  return body;
}

/** Google: code -> access token at the token endpoint -> OpenID userinfo (no ID-token JWKS to fetch). */
export async function googleIdentity(code: string, redirectUri: string): Promise<ProviderIdentity> {
  const cfg = providerConfig('google');
  const token = await callProvider<{ access_token: string }>('google', cfg.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      code,
      client_id: cfg.clientId,
      client_secret: cfg.clientSecret,
      redirect_uri: redirectUri,
      grant_type: 'authorization_code',
    }),
  });
  const info = await callProvider<{ sub: string; email?: string; email_verified?: boolean | string }>(
    'google',
    cfg.apiUrl,
    { headers: { authorization: `Bearer ${token.access_token}`, accept: 'application/json' } },
  );
  return {
    subject: String(info.sub),
    email: info.email,
    emailVerified: info.email_verified === true || info.email_verified === 'true',
  };
}

/** GitHub: code -> access token -> `/user` and `/user/emails` (the profile email may be private or absent). */
export async function githubIdentity(code: string, port: number): Promise<ProviderIdentity> {
  const cfg = providerConfig('github');
  const token = await callProvider<{ access_token: string }>('github', cfg.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      client_id: cfg.clientId,
      client_secret: cfg.clientSecret,
      code,
      redirect_uri: desktopRedirectUri(port),
    }),
  });
  const headers = {
    authorization: `Bearer ${token.access_token}`,
    accept: 'application/vnd.github+json',
    'user-agent': 'mira-backend',
  };
  const base = cfg.apiUrl.replace(/\/$/, '');
  const user = await callProvider<{ id: number | string }>('github', `${base}/user`, { headers });
  const emails = await callProvider<Array<{ email: string; primary: boolean; verified: boolean }>>(
    'github',
    `${base}/user/emails`,
    { headers },
  );
  const verified = emails.filter((e) => e.verified);
  const chosen = verified.find((e) => e.primary) ?? verified[0];
  return { subject: String(user.id), email: chosen?.email, emailVerified: Boolean(chosen) };
}

/**
 * Sign in with a provider identity: the account already linked to it, else the account with the same
 * verified email (linked now), else a new account with its own network. An unverified email links nothing.
 */
export async function signInWithProvider(db: Db, provider: Provider, identity: ProviderIdentity) {
  return inTransaction(db, async (trx) => {
    let user = await findUserByProvider(trx, provider, identity.subject);
    if (!user) {
      if (!identity.email || !identity.emailVerified) {
        throw httpError(
          'OAUTH_EMAIL_UNVERIFIED',
          `${provider} did not confirm a verified email for this account`,
        );
      }
      const existing = await findUserByEmail(trx, identity.email);
      if (existing) {
        user = await linkProvider(trx, existing, provider, identity.subject);
        // An unverified account's sessions may belong to whoever registered the address first.
        if (!existing.email_verified) await revokeUserRefreshTokens(trx, existing.id);
      } else {
        user = await insertUser(trx, {
          email: identity.email,
          emailVerified: true,
          ...(provider === 'google' ? { googleSubject: identity.subject } : { githubId: identity.subject }),
        });
        await createNetworkOwnedBy(trx, defaultNetworkName(user), user.id);
      }
    }
    if (!user.is_active) throw forbidden('This account is disabled', 'ACCOUNT_DISABLED');
    return issueTokens(trx, user);
  });
}
