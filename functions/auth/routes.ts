import { generateApiKey } from '../../shared/auth/api-keys';
import { insertApiKey, listApiKeys, revokeApiKey } from '../../shared/db/repositories/credentials';
import { listMembers } from '../../shared/db/repositories/members';
import { forbidden, httpError, HttpError, unauthorized, type ErrorCode } from '../../shared/errors';
import {
  created,
  defineRoute,
  noContent,
  ok,
  type HttpResult,
  type RequestContext,
  type RouteDefinition,
} from '../../shared/http/route';
import { currentUser, deleteAccount, login, refresh, register } from './accounts';
import { addNetworkMember, removeNetworkMember } from './members';
import { config } from '../../shared/config';
import {
  authorizationUrl,
  checkState,
  checkWebState,
  desktopRedirectUri,
  githubIdentity,
  googleIdentity,
  signInWithProvider,
  webAuthorizationUrl,
  webReturn,
  type WebReturn,
} from './oauth';
import {
  addMemberBody,
  apiKeyCreatedSchema,
  apiKeyListSchema,
  apiKeyParams,
  createApiKeyBody,
  githubExchangeBody,
  googleCallbackBody,
  loginBody,
  meResponse,
  memberListSchema,
  memberParams,
  memberSchema,
  oauthUrlQuery,
  oauthUrlResponse,
  refreshBody,
  registerBody,
  toApiKey,
  toMember,
  tokenResponse,
  webCallbackQuery,
  webLoginQuery,
} from './schemas';

const tag = 'Auth';
const tokenResponses = { 200: { description: 'Tokens and the user', schema: tokenResponse } };

/** Keys and members are managed by people, not devices: a user token of a member (or the owner). */
/** What finishing an OAuth sign-in can answer, for either provider. */
const oauthSignInErrors: ErrorCode[] = [
  'INVALID_OAUTH_STATE',
  'OAUTH_EXCHANGE_FAILED',
  'OAUTH_EMAIL_UNVERIFIED',
  'OAUTH_NOT_CONFIGURED',
  'OAUTH_PROVIDER_UNAVAILABLE',
  'ACCOUNT_DISABLED',
];

/** What `requireUser` answers: an API key or a member where an owner's token is needed. */
const userManaged: ErrorCode[] = ['UNAUTHORIZED', 'USER_TOKEN_REQUIRED', 'OWNER_REQUIRED'];

function requireUser(ctx: RequestContext<unknown, unknown, unknown>, ownerOnly: boolean) {
  const { principal } = ctx;
  if (principal.kind === 'api_key')
    throw forbidden('This needs a user token, not an API key', 'USER_TOKEN_REQUIRED');
  if (principal.kind !== 'user' || !principal.userId) throw unauthorized('Sign in to manage this network');
  if (ownerOnly && principal.role !== 'owner')
    throw forbidden('Only an owner of this network may do this', 'OWNER_REQUIRED');
  return principal.userId;
}

const oauthUrlRoute = (provider: 'google' | 'github') =>
  defineRoute({
    method: 'GET',
    path: `/api/{version}/auth/${provider}/url`,
    scope: 'root',
    access: 'public',
    tag,
    summary: `The ${provider} consent page URL and its signed state`,
    query: oauthUrlQuery,
    responses: { 200: { description: 'Where to send the user', schema: oauthUrlResponse } },
    errors: ['OAUTH_NOT_CONFIGURED', 'OAUTH_PROVIDER_UNAVAILABLE'],
    handler: async ({ query }) => ok(await authorizationUrl(provider, query.redirect_port)),
  });

/**
 * A browser redirect. Tokens travel in the query of the last one (the 4.x web app reads them there), so
 * nothing may cache it and the next page must not leak it as a referrer.
 */
const redirect = (location: string): HttpResult => ({
  statusCode: 302,
  headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
});

const backToWebApp = (target: WebReturn, params: Record<string, string>): HttpResult => {
  const url = new URL('/auth/callback', target.spaOrigin);
  for (const [name, value] of Object.entries({ ...params, next: target.next }))
    url.searchParams.set(name, value);
  return redirect(url.toString());
};

/** This API's own callback URL for the browser flow, as Google must see it (and have it registered). */
function webCallbackUrl(ctx: RequestContext<unknown, unknown, unknown>): string {
  const configured = config().auth.oauthWebCallbackUrl;
  if (configured) return configured;
  const version = (ctx.params as { version?: string }).version ?? 'v1';
  // API Gateway only speaks HTTPS; the local server only HTTP.
  const scheme = config().lambdaFunctionName ? 'https' : 'http';
  return `${scheme}://${ctx.event.requestContext.domainName}/api/${version}/auth/google/web/callback`;
}

export const authRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/api/{version}/auth/register',
    scope: 'root',
    access: 'public',
    tag,
    summary: "Create an account and its own network; answers the account's tokens",
    body: registerBody,
    responses: { 201: { description: 'Registered', schema: tokenResponse } },
    errors: ['EMAIL_TAKEN', 'USERNAME_TAKEN', 'TOO_MANY_ATTEMPTS'],
    handler: async ({ db, body, event }) =>
      created(await register(db, body, event.requestContext.http.sourceIp)),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/{version}/auth/login',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Sign in with email or username and password',
    body: loginBody,
    responses: tokenResponses,
    errors: ['INVALID_CREDENTIALS', 'ACCOUNT_DISABLED', 'TOO_MANY_ATTEMPTS'],
    handler: async ({ db, body, event }) => ok(await login(db, body, event.requestContext.http.sourceIp)),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/{version}/auth/refresh',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Trade a refresh token for new tokens (each refresh token works once)',
    body: refreshBody,
    responses: tokenResponses,
    errors: ['INVALID_TOKEN', 'TOKEN_EXPIRED', 'REFRESH_TOKEN_REUSED'],
    handler: async ({ db, body }) => ok(await refresh(db, body.refresh_token)),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/{version}/auth/me',
    scope: 'root',
    access: 'user',
    tag,
    summary: 'The signed-in account: id, email, username, whether it has a password, when it was made',
    responses: { 200: { description: 'The account', schema: meResponse } },
    handler: async ({ db, principal }) => ok(await currentUser(db, principal.userId!)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/api/{version}/auth/me',
    scope: 'root',
    access: 'user',
    tag,
    summary: 'Delete the account and the networks it alone owns, with everything in them',
    responses: { 204: { description: 'Deleted' } },
    handler: async ({ db, principal }) => {
      await deleteAccount(db, principal.userId!);
      return noContent();
    },
  }),
  oauthUrlRoute('google'),
  oauthUrlRoute('github'),
  defineRoute({
    method: 'GET',
    path: '/api/{version}/auth/google/web/login',
    scope: 'root',
    access: 'public',
    tag,
    summary:
      'Browser sign-in with Google: 302 to Google; it ends in a 302 to `{spa_origin}/auth/callback` with tokens',
    query: webLoginQuery,
    responses: { 302: { description: "To Google's consent page" } },
    errors: ['OAUTH_ORIGIN_NOT_ALLOWED', 'INVALID_NEXT_PATH', 'OAUTH_NOT_CONFIGURED'],
    handler: async (ctx) => {
      const target = webReturn(ctx.query.spa_origin, ctx.query.next);
      return redirect(await webAuthorizationUrl(target, webCallbackUrl(ctx)));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/{version}/auth/google/web/callback',
    scope: 'root',
    access: 'public',
    tag,
    summary:
      "Google's redirect after a browser sign-in: 302 to `{spa_origin}/auth/callback?access_token&refresh_token&next`, or `?error&error_description`",
    query: webCallbackQuery,
    responses: { 302: { description: 'Back to the web app, signed in or with the reason why not' } },
    // Only a state that is not ours answers here: without it there is no trusted place to send the browser.
    errors: ['INVALID_OAUTH_STATE', 'OAUTH_ORIGIN_NOT_ALLOWED', 'INVALID_NEXT_PATH', 'OAUTH_NOT_CONFIGURED'],
    handler: async ({ db, query }) => {
      const target = await checkWebState(query.state);
      if (query.error || !query.code) {
        return backToWebApp(target, {
          error: query.error ?? 'invalid_request',
          error_description: query.error_description ?? 'Google did not complete the sign-in',
        });
      }
      try {
        const identity = await googleIdentity(query.code, target.callbackUrl);
        const tokens = await signInWithProvider(db, 'google', identity);
        return backToWebApp(target, {
          access_token: tokens.access_token,
          refresh_token: tokens.refresh_token,
        });
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        return backToWebApp(target, { error: error.code, error_description: error.message });
      }
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/{version}/auth/google/callback',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Finish Google sign-in with the code and the state from the redirect',
    body: googleCallbackBody,
    responses: tokenResponses,
    errors: oauthSignInErrors,
    handler: async ({ db, body }) => {
      const port = await checkState(body.state, 'google');
      return ok(
        await signInWithProvider(db, 'google', await googleIdentity(body.code, desktopRedirectUri(port))),
      );
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/{version}/auth/github/exchange',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Finish GitHub sign-in with the code from the redirect',
    body: githubExchangeBody,
    responses: tokenResponses,
    errors: oauthSignInErrors,
    handler: async ({ db, body }) => {
      // API.md's body has no state (the desktop app checks it itself); when one is sent it must be ours.
      if (body.state && (await checkState(body.state, 'github')) !== body.redirect_port) {
        throw httpError('INVALID_OAUTH_STATE', 'The state was issued for another redirect port');
      }
      return ok(await signInWithProvider(db, 'github', await githubIdentity(body.code, body.redirect_port)));
    },
  }),

  // --- Network API keys (P/keys) ------------------------------------------------------------------------
  defineRoute({
    method: 'POST',
    path: '/keys',
    scope: 'scoped',
    tag: 'Keys',
    summary: 'Create an API key for a device or service; the key is shown only in this answer',
    body: createApiKeyBody,
    responses: { 201: { description: 'The new key', schema: apiKeyCreatedSchema } },
    errors: userManaged,
    handler: async (ctx) => {
      const userId = requireUser(ctx, true);
      const { key, prefix, hash } = generateApiKey();
      const row = await insertApiKey(ctx.db, {
        networkId: ctx.networkId,
        name: ctx.body.name,
        prefix,
        hash,
        createdBy: userId,
      });
      return created({ ...toApiKey(row), key });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/keys',
    scope: 'scoped',
    tag: 'Keys',
    summary: "The network's API keys (prefix only), newest first",
    responses: { 200: { description: 'Keys', schema: apiKeyListSchema } },
    errors: userManaged,
    handler: async (ctx) => {
      requireUser(ctx, false);
      return ok((await listApiKeys(ctx.db, ctx.networkId)).map(toApiKey));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/keys/{key_id}',
    scope: 'scoped',
    tag: 'Keys',
    summary: 'Revoke an API key; it stops working at once',
    params: apiKeyParams,
    responses: { 204: { description: 'Revoked' } },
    errors: [...userManaged, 'API_KEY_NOT_FOUND'],
    handler: async (ctx) => {
      requireUser(ctx, true);
      if (!(await revokeApiKey(ctx.db, ctx.networkId, ctx.params.key_id))) {
        throw httpError('API_KEY_NOT_FOUND', 'No such API key in this network');
      }
      return noContent();
    },
  }),

  // --- Members (P/members) ------------------------------------------------------------------------------
  defineRoute({
    method: 'GET',
    path: '/members',
    scope: 'scoped',
    tag: 'Members',
    summary: 'The members of the network',
    responses: { 200: { description: 'Members', schema: memberListSchema } },
    errors: userManaged,
    handler: async (ctx) => {
      requireUser(ctx, false);
      return ok((await listMembers(ctx.db, ctx.networkId)).map(toMember));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/members',
    scope: 'scoped',
    tag: 'Members',
    summary: 'Add a registered user to the network by email (owners only)',
    body: addMemberBody,
    responses: { 201: { description: 'The new member', schema: memberSchema } },
    errors: [...userManaged, 'USER_NOT_FOUND', 'ALREADY_MEMBER'],
    handler: async (ctx) => {
      requireUser(ctx, true);
      return created(toMember(await addNetworkMember(ctx.db, ctx.networkId, ctx.body.email, ctx.body.role)));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/members/{user_id}',
    scope: 'scoped',
    tag: 'Members',
    summary: 'Remove a member (owners; or members leaving); the last owner cannot leave',
    params: memberParams,
    responses: { 204: { description: 'Removed' } },
    errors: [...userManaged, 'MEMBER_NOT_FOUND', 'LAST_OWNER'],
    handler: async (ctx) => {
      requireUser(ctx, ctx.params.user_id !== ctx.principal.userId);
      await removeNetworkMember(ctx.db, ctx.networkId, ctx.params.user_id);
      return noContent();
    },
  }),
];
