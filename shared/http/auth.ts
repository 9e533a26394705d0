import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { hashApiKey, isApiKey } from '../auth/api-keys';
import { TokenError, verifyAccessToken, verifySessionToken, type SessionClaims } from '../auth/tokens';
import { config } from '../config';
import type { Db } from '../db/client';
import { findActiveApiKey, isRefreshFamilyRevoked, touchApiKey } from '../db/repositories/credentials';
import { findOwnNetworkId, findRole } from '../db/repositories/members';
import { findNetwork } from '../db/repositories/networks';
import { findRealtimeSession } from '../db/repositories/realtime';
import { findUserById } from '../db/repositories/users';
import {
  forbidden,
  HttpError,
  invalidToken,
  networkNotFound,
  unauthorized,
  validationError,
} from '../errors';
import type { Principal, RouteAccess, RouteDefinition } from './route';
import type { ScopedPath } from './router';

export interface AuthorizationInput {
  route: RouteDefinition;
  scoped: ScopedPath;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  db: Db;
  event: APIGatewayProxyEventV2;
  /** A realtime session's `session_token`, read from the form on routes that accept one. */
  sessionToken?: string;
}

export interface Access {
  principal: Principal;
  /** The network the request may act on, when the route is about one. */
  networkId: string | undefined;
  /** The realtime session the request was made in (its `session_token` was valid). */
  session?: { sessionId: string; clientId: string };
}

/** The authorisation hook of the request pipeline: who is calling, and on which network. */
export type Authorizer = (input: AuthorizationInput) => Promise<Access>;

type Credential =
  | { kind: 'token'; token: string }
  | { kind: 'api_key'; key: string }
  | { kind: 'none' }
  | { kind: 'malformed' };

/** `Authorization: Bearer <jwt|mk_...>` first, then `X-API-Key`. */
export function readCredential(headers: Record<string, string>): Credential {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) return { kind: 'malformed' };
    return isApiKey(match[1]) ? { kind: 'api_key', key: match[1] } : { kind: 'token', token: match[1] };
  }
  const apiKey = headers['x-api-key']?.trim();
  if (apiKey) return { kind: 'api_key', key: apiKey };
  return { kind: 'none' };
}

/** The user of a valid access token; 401 when the token is bad or its user is gone or disabled. */
export async function authenticateUser(db: Db, token: string): Promise<{ userId: string }> {
  try {
    const claims = await verifyAccessToken(token);
    const user = await findUserById(db, claims.sub);
    if (!user || !user.is_active)
      throw invalidToken('The user of this token no longer exists or is disabled');
    // A stolen refresh token that was replayed revokes its family: the access tokens it issued stop now,
    // not when they expire.
    if (claims.fam && (await isRefreshFamilyRevoked(db, claims.fam)))
      throw invalidToken('This session was revoked; sign in again', 'TOKEN_REVOKED');
    return { userId: user.id };
  } catch (error) {
    if (error instanceof TokenError) {
      throw invalidToken(error.message, error.reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN');
    }
    throw error;
  }
}

async function authenticateApiKey(db: Db, key: string): Promise<{ apiKeyId: string; networkId: string }> {
  const found = await findActiveApiKey(db, hashApiKey(key));
  if (!found) throw invalidToken('The API key is invalid or revoked', 'INVALID_API_KEY');
  // Usage is recorded at most once a minute: no write (and no round trip) on most requests.
  if (!found.last_used_at || Date.now() - new Date(found.last_used_at).getTime() > 60_000) {
    await touchApiKey(db, found.id);
  }
  return { apiKeyId: found.id, networkId: found.network_id };
}

const uuid = z.uuid();

/** The caller of an open route if their credential is good, else anonymous. */
async function optionalPrincipal(db: Db, credential: Credential): Promise<Principal> {
  try {
    if (credential.kind === 'token')
      return { kind: 'user', ...(await authenticateUser(db, credential.token)) };
    if (credential.kind === 'api_key') {
      const key = await authenticateApiKey(db, credential.key);
      return { kind: 'api_key', apiKeyId: key.apiKeyId };
    }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
  }
  return { kind: 'anonymous' };
}

/** The network a user acts on: the one named (if they belong to it), else their own. */
async function userNetwork(
  db: Db,
  userId: string,
  wanted: string | undefined,
): Promise<Access & { networkId: string }> {
  if (wanted) {
    const role = await findRole(db, wanted, userId);
    if (!role) throw forbidden();
    return { principal: { kind: 'user', userId, role }, networkId: wanted };
  }
  const own = await findOwnNetworkId(db, userId);
  if (!own) {
    throw forbidden('You own no network; name one of yours with X-Network-Id', 'NETWORK_REQUIRED');
  }
  return { principal: { kind: 'user', userId, role: 'owner' }, networkId: own };
}

/**
 * Who opens a realtime socket, and for which network: the `token` query parameter is a user's access token
 * (the network named by `network_id` if they are a member there, else their own) or a network API key.
 * Browsers cannot set headers on a WebSocket handshake, hence the query parameter.
 */
export async function authenticateSocket(
  db: Db,
  credential: string | undefined,
  wantedNetworkId: string | undefined,
): Promise<{ networkId: string; userId?: string; apiKeyId?: string }> {
  if (!credential) throw unauthorized('The realtime socket needs ?token=<access token or API key>');
  if (wantedNetworkId !== undefined && !uuid.safeParse(wantedNetworkId).success) {
    throw validationError('network_id must be a UUID', [
      { path: 'query.network_id', message: 'Invalid UUID' },
    ]);
  }
  if (isApiKey(credential)) {
    const key = await authenticateApiKey(db, credential);
    if (wantedNetworkId && wantedNetworkId !== key.networkId)
      throw forbidden('This API key is for another network');
    return { networkId: key.networkId, apiKeyId: key.apiKeyId };
  }
  const { userId } = await authenticateUser(db, credential);
  const access = await userNetwork(db, userId, wantedNetworkId);
  return { networkId: access.networkId, userId };
}

const staleSession = (
  detail = 'The session token is invalid, expired or not for this session; reconnect the realtime socket',
) => invalidToken(detail, 'INVALID_SESSION_TOKEN');

/**
 * A request made in a realtime session (`session_token` in the form): the token must be good, its session
 * still open and its user still a member of the session's network. A bearer token sent with it must be
 * the same user's (an expired one is ignored: the session token suffices); a network named by the path or
 * `X-Network-Id` must be the session's.
 */
async function sessionAccess(
  input: AuthorizationInput,
  credential: Credential,
  token: string,
  next: () => Promise<Access>,
): Promise<Access> {
  const { db, scoped, headers } = input;
  let claims: SessionClaims;
  try {
    claims = await verifySessionToken(token);
  } catch (error) {
    if (error instanceof TokenError) throw staleSession();
    throw error;
  }
  const session = await findRealtimeSession(db, claims.sid);
  const owner = claims.key ? session?.api_key_id : session?.user_id;
  if (
    !session ||
    session.network_id !== claims.net ||
    session.client_id !== claims.cid ||
    owner !== claims.sub
  )
    throw staleSession('This session is closed or not yours; reconnect the realtime socket');
  const wanted = (scoped.scope === 'network' ? scoped.networkSegment : undefined) ?? xNetworkId(headers);
  if (wanted && wanted !== claims.net) throw staleSession('The session token is for another network');
  const bound = { sessionId: claims.sid, clientId: claims.cid };
  if (claims.key) {
    // An API key's session adds nothing to the key itself, which must come along.
    const access = await next();
    if (access.principal.apiKeyId !== claims.sub) throw staleSession('The session token is not this key’s');
    return { ...access, session: bound };
  }
  if (credential.kind === 'token') {
    try {
      const { userId } = await authenticateUser(db, credential.token);
      if (userId !== claims.sub) throw staleSession('The session token belongs to another user');
    } catch (error) {
      if (!(error instanceof HttpError && error.code === 'TOKEN_EXPIRED')) throw error;
    }
  } else if (credential.kind === 'api_key') {
    throw staleSession('The session token belongs to a user, not to this API key');
  }
  const user = await findUserById(db, claims.sub);
  if (!user || !user.is_active)
    throw staleSession('The user of this session no longer exists or is disabled');
  const role = await findRole(db, claims.net, claims.sub);
  if (!role) throw forbidden();
  return { principal: { kind: 'user', userId: claims.sub, role }, networkId: claims.net, session: bound };
}

function xNetworkId(headers: Record<string, string>): string | undefined {
  const value = headers['x-network-id']?.trim();
  if (!value) return undefined;
  if (!uuid.safeParse(value).success) {
    throw validationError('X-Network-Id must be a UUID', [
      { path: 'header.x-network-id', message: 'Invalid UUID' },
    ]);
  }
  return value;
}

/**
 * Who may do what:
 * - public routes (and root routes): open; a valid bearer token names the user (`POST /networks` makes them
 *   the owner), a bad one is ignored here (the route decides whether it needs a user).
 * - `user` routes: a user access token, no network.
 * - network-scoped paths (`/api/vN/{network_id}/...`): a member's access token or that network's API key;
 *   with no credentials only under `LEGACY_NETWORK_AUTH` (read per request, so it can be toggled).
 * - token-scoped paths (`/api/vN/...`): the network comes from the credential: an API key's own network, or
 *   the user's own network, or `X-Network-Id` when the user is a member there.
 * On every other route a credential that is sent is checked, even in legacy mode: a bad one is a 401.
 */
export const defaultAuthorizer: Authorizer = async (input) => {
  const { route, scoped, headers, db } = input;
  const access: RouteAccess = route.access ?? (route.scope === 'root' ? 'public' : 'network');
  const credential = readCredential(headers);
  if (credential.kind === 'malformed' && access !== 'public') {
    throw invalidToken('The Authorization header must be "Bearer <token>"');
  }
  if (input.sessionToken && route.sessionToken && access === 'network') {
    return sessionAccess(input, credential, input.sessionToken, () =>
      defaultAuthorizer({ ...input, sessionToken: undefined }),
    );
  }

  if (access === 'public') {
    // Open routes never fail on credentials: a client that sends its expired access token along with
    // `POST /auth/refresh` (or `GET /`) must still get through. A valid token names the caller.
    return { principal: await optionalPrincipal(db, credential), networkId: undefined };
  }
  if (access === 'user') {
    if (credential.kind === 'token') {
      const { userId } = await authenticateUser(db, credential.token);
      return { principal: { kind: 'user', userId }, networkId: undefined };
    }
    throw credential.kind === 'api_key'
      ? forbidden('This route needs a user token, not an API key', 'USER_TOKEN_REQUIRED')
      : unauthorized();
  }

  const pathNetwork = scoped.scope === 'network' ? scoped.networkSegment : undefined;
  const wanted = pathNetwork ?? xNetworkId(headers);

  if (credential.kind === 'token') {
    const { userId } = await authenticateUser(db, credential.token);
    return userNetwork(db, userId, wanted);
  }
  if (credential.kind === 'api_key') {
    const key = await authenticateApiKey(db, credential.key);
    if (wanted && wanted !== key.networkId) throw forbidden('This API key belongs to another network');
    return { principal: { kind: 'api_key', apiKeyId: key.apiKeyId }, networkId: key.networkId };
  }
  if (pathNetwork && config().legacyNetworkAuth) {
    const network = await findNetwork(db, pathNetwork);
    if (!network) throw networkNotFound();
    return { principal: { kind: 'legacy' }, networkId: network.id };
  }
  throw unauthorized();
};
