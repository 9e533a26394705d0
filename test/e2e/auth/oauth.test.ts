import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../../shared/config';
import { registerAccount, strictAuth } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { createTestApi } from '../../helpers/http';

const database = useTestDatabase();
const api = createTestApi();
let mode: ReturnType<typeof strictAuth>;

interface FakeIdentity {
  google?: { sub: string; email: string; email_verified: boolean };
  github?: { id: number; emails: Array<{ email: string; primary: boolean; verified: boolean }> };
}

/** Fake Google and GitHub on loopback: codes map to identities; wrong secrets or redirect URIs are refused. */
const codes = new Map<string, FakeIdentity>();
const redirects: string[] = [];
let server: Server;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
  });

const startFakeProviders = () =>
  new Promise<string>((resolve) => {
    // The fake providers answer every request in full; a failure fails the test that made the request.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    server = createServer(async (req, res) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const raw = await readBody(req);
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const url = new URL(req.url!, 'http://x');
      if (req.method === 'POST' && url.pathname === '/google/token') {
        const form = new URLSearchParams(raw);
        redirects.push(form.get('redirect_uri')!);
        const known = codes.get(form.get('code')!);
        if (
          !known?.google ||
          form.get('client_secret') !== 'g-secret' ||
          form.get('grant_type') !== 'authorization_code'
        )
          return json(400, { error: 'invalid_grant' });
        return json(200, { access_token: `g:${form.get('code')}`, token_type: 'Bearer', id_token: 'unused' });
      }
      if (req.method === 'GET' && url.pathname === '/google/userinfo') {
        const identity = codes.get(bearer.slice(2))?.google;
        return identity ? json(200, identity) : json(401, { error: 'invalid_token' });
      }
      if (req.method === 'POST' && url.pathname === '/github/token') {
        const body = JSON.parse(raw);
        redirects.push(body.redirect_uri);
        const known = codes.get(body.code);
        // GitHub answers a bad code with 200 and an `error` field.
        if (!known?.github || body.client_secret !== 'gh-secret')
          return json(200, { error: 'bad_verification_code' });
        return json(200, {
          access_token: `h:${body.code}`,
          token_type: 'bearer',
          scope: 'read:user,user:email',
        });
      }
      const identity = codes.get(bearer.slice(2))?.github;
      if (req.method === 'GET' && url.pathname === '/github/api/user') {
        return identity
          ? json(200, { id: identity.id, login: 'octo' })
          : json(401, { message: 'Bad credentials' });
      }
      if (req.method === 'GET' && url.pathname === '/github/api/user/emails') {
        return identity ? json(200, identity.emails) : json(401, { message: 'Bad credentials' });
      }
      json(404, { error: 'not_found' });
    });
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });

beforeAll(async () => {
  mode = strictAuth();
  const base = await startFakeProviders();
  Object.assign(process.env, {
    GOOGLE_CLIENT_ID: 'g-client',
    GOOGLE_CLIENT_SECRET: 'g-secret',
    GOOGLE_AUTH_URL: `${base}/google/auth`,
    GOOGLE_TOKEN_URL: `${base}/google/token`,
    GOOGLE_USERINFO_URL: `${base}/google/userinfo`,
    GITHUB_CLIENT_ID: 'gh-client',
    GITHUB_CLIENT_SECRET: 'gh-secret',
    GITHUB_AUTHORIZE_URL: `${base}/github/authorize`,
    GITHUB_TOKEN_URL: `${base}/github/token`,
    GITHUB_API_URL: `${base}/github/api`,
    OAUTH_WEB_ORIGINS: 'https://app.mira.example, http://localhost:5173/',
  });
  resetConfig();
});
afterAll(async () => {
  for (const name of Object.keys(process.env).filter((k) => /^(GOOGLE|GITHUB|OAUTH)_/.test(k)))
    delete process.env[name];
  mode.restore();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  codes.clear();
  redirects.length = 0;
});

const googleSignIn = async (code: string, port = 4280) => {
  const start = await api.get(`/api/v1/auth/google/url?redirect_port=${port}`);
  return api.post('/api/v1/auth/google/callback', { code, state: start.body.state });
};

/** The browser's journey: our login URL -> Google's consent page -> (the person consents) -> our callback. */
async function browserSignIn(query: string, consent: { code?: string; error?: string }) {
  const start = await api.get(`/api/v1/auth/google/web/login?${query}`);
  expect(start.status).toBe(302);
  const consentPage = new URL(start.headers.location);
  const callback = new URL(consentPage.searchParams.get('redirect_uri')!);
  for (const [name, value] of Object.entries(consent)) callback.searchParams.set(name, value);
  callback.searchParams.set('state', consentPage.searchParams.get('state')!);
  const end = await api.get(callback.pathname + callback.search);
  return {
    start,
    consentPage,
    callback,
    end,
    landing: end.headers.location ? new URL(end.headers.location) : undefined,
  };
}

describe('Google sign-in in the browser (4.x web app)', () => {
  it('redirects to Google, then back to the web app with tokens that work', async () => {
    codes.set('w1', { google: { sub: 'g-web', email: 'wen@example.com', email_verified: true } });

    const { start, consentPage, callback, end, landing } = await browserSignIn(
      'next=%2Fassistant%3Ftab%3Dmemories&spa_origin=https%3A%2F%2Fapp.mira.example',
      { code: 'w1' },
    );

    expect(consentPage.origin + consentPage.pathname).toBe(process.env.GOOGLE_AUTH_URL);
    expect(consentPage.searchParams.get('client_id')).toBe('g-client');
    expect(callback.pathname).toBe('/api/v1/auth/google/web/callback');
    expect(start.headers['cache-control']).toBe('no-store');
    expect(end.status).toBe(302);
    expect(end.headers['referrer-policy']).toBe('no-referrer');
    expect(landing!.origin + landing!.pathname).toBe('https://app.mira.example/auth/callback');
    expect(landing!.searchParams.get('next')).toBe('/assistant?tab=memories');
    // Google got the same redirect_uri at the token exchange as on the consent page.
    expect(redirects).toEqual([consentPage.searchParams.get('redirect_uri')]);
    const me = await api.get('/api/v1/auth/me', { token: landing!.searchParams.get('access_token')! });
    expect(me.body.email).toBe('wen@example.com');
    const refreshed = await api.post('/api/v1/auth/refresh', {
      refresh_token: landing!.searchParams.get('refresh_token'),
    });
    expect(refreshed.status).toBe(200);
  });

  it('uses the first configured origin and the root path when the app sends neither', async () => {
    codes.set('w2', { google: { sub: 'g-web2', email: 'wu@example.com', email_verified: true } });
    const { landing } = await browserSignIn('', { code: 'w2' });
    expect(landing!.origin).toBe('https://app.mira.example');
    expect(landing!.searchParams.get('next')).toBe('/');
    expect(landing!.searchParams.get('access_token')).toBeTruthy();
  });

  it('sends a declined consent or a refused account back to the app as error and error_description', async () => {
    const declined = await browserSignIn('spa_origin=http://localhost:5173&next=/login', {
      error: 'access_denied',
    });
    expect(declined.landing!.origin).toBe('http://localhost:5173');
    expect(Object.fromEntries(declined.landing!.searchParams)).toEqual({
      error: 'access_denied',
      error_description: 'Google did not complete the sign-in',
      next: '/login',
    });

    codes.set('w3', { google: { sub: 'g-web3', email: 'unverified@example.com', email_verified: false } });
    const refused = await browserSignIn('spa_origin=http://localhost:5173', { code: 'w3' });
    expect(refused.landing!.searchParams.get('error')).toBe('OAUTH_EMAIL_UNVERIFIED');
    expect(refused.landing!.searchParams.get('error_description')).toMatch(/verified/);
    expect(refused.landing!.searchParams.has('access_token')).toBe(false);
    const bad = await browserSignIn('', { code: 'no-such-code' });
    expect(bad.landing!.searchParams.get('error')).toBe('OAUTH_EXCHANGE_FAILED');
    expect(await database.db.selectFrom('users').select('id').execute()).toHaveLength(0);
  });

  it('is never an open redirect: foreign origins and paths that leave the app are refused', async () => {
    const refusedOrigins = [
      'https://evil.example',
      'https://app.mira.example.evil.example',
      'https://app.mira.example/phish',
      'https://user@app.mira.example',
      'http://app.mira.example',
      'javascript:alert(1)',
      'data:text/html,hi',
      'not a url',
    ];
    for (const origin of refusedOrigins) {
      const res = await api.get(`/api/v1/auth/google/web/login?spa_origin=${encodeURIComponent(origin)}`);
      expect(res.status, origin).toBe(400);
      expect(res.body.error_code).toBe('OAUTH_ORIGIN_NOT_ALLOWED');
      expect(res.headers.location).toBeUndefined();
    }
    const refusedPaths = [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example/',
      'assistant',
      '/a\nb',
      '/\\/x',
    ];
    for (const next of refusedPaths) {
      const res = await api.get(`/api/v1/auth/google/web/login?next=${encodeURIComponent(next)}`);
      expect(res.status, next).toBe(400);
      expect(res.body.error_code).toBe('INVALID_NEXT_PATH');
    }
  });

  it('refuses a callback whose state is forged or from the desktop flow, without redirecting', async () => {
    const desktopState: string = (await api.get('/api/v1/auth/google/url')).body.state;
    for (const state of [desktopState, 'garbage']) {
      const res = await api.get(`/api/v1/auth/google/web/callback?code=x&state=${encodeURIComponent(state)}`);
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('INVALID_OAUTH_STATE');
      expect(res.headers.location).toBeUndefined();
    }
  });

  it('answers 503 when no web origin is configured', async () => {
    const saved = process.env.OAUTH_WEB_ORIGINS;
    delete process.env.OAUTH_WEB_ORIGINS;
    resetConfig();
    try {
      const res = await api.get('/api/v1/auth/google/web/login?next=/');
      expect(res.status).toBe(503);
      expect(res.body.error_code).toBe('OAUTH_NOT_CONFIGURED');
    } finally {
      process.env.OAUTH_WEB_ORIGINS = saved;
      resetConfig();
    }
  });
});

describe('Google sign-in', () => {
  it('answers the consent URL with a signed state for the desktop redirect port', async () => {
    const res = await api.get('/api/v1/auth/google/url?redirect_port=5123');
    expect(res.status).toBe(200);
    const url = new URL(res.body.url);
    expect(url.origin + url.pathname).toBe(process.env.GOOGLE_AUTH_URL);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'g-client',
      redirect_uri: 'http://localhost:5123/callback',
      response_type: 'code',
      state: res.body.state,
    });
  });

  it('creates an account with its own network on first sign-in and finds it again later', async () => {
    // Prepare
    codes.set('c1', { google: { sub: 'g-123', email: 'gina@example.com', email_verified: true } });
    codes.set('c2', { google: { sub: 'g-123', email: 'gina@example.com', email_verified: true } });

    // Act
    const first = await googleSignIn('c1', 5123);
    const second = await googleSignIn('c2');

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'bearer', user: { email: 'gina@example.com' } });
    expect(second.body.user.id).toBe(first.body.user.id);
    expect(second.body.network_id).toBe(first.body.network_id);
    expect(redirects[0]).toBe('http://localhost:5123/callback');
    const info = await api.get('/api/v1/service/info', { token: first.body.access_token });
    expect(info.body.id).toBe(first.body.network_id);
  });

  it('links to an existing account by verified email and drops its unverified password', async () => {
    // Prepare
    const existing = await registerAccount(api, 'hana');
    codes.set('c3', { google: { sub: 'g-456', email: 'HANA@example.com', email_verified: true } });

    // Act
    const res = await googleSignIn('c3');

    // Assess
    expect(res.body.user.id).toBe(existing.userId);
    expect(res.body.network_id).toBe(existing.networkId);
    const user = await database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', existing.userId)
      .executeTakeFirstOrThrow();
    expect(user).toMatchObject({ google_subject: 'g-456', email_verified: true, password_hash: null });
    expect(
      (await api.post('/api/v1/auth/login', { email: existing.email, password: existing.password })).status,
    ).toBe(401);
    expect((await api.post('/api/v1/auth/refresh', { refresh_token: existing.refreshToken })).status).toBe(
      401,
    );
  });

  it('refuses an unverified email without creating or linking anything', async () => {
    await registerAccount(api, 'ivo');
    codes.set('c4', { google: { sub: 'g-789', email: 'ivo@example.com', email_verified: false } });
    const res = await googleSignIn('c4');
    expect(res.status).toBe(403);
    expect(res.body.error_code).toBe('OAUTH_EMAIL_UNVERIFIED');
    const linked = await database.db.selectFrom('users').select('google_subject').execute();
    expect(linked.every((u) => u.google_subject === null)).toBe(true);
  });

  it('refuses a forged, foreign or missing state with 400', async () => {
    codes.set('c5', { google: { sub: 'g-1', email: 'x@example.com', email_verified: true } });
    const githubState = (await api.get('/api/v1/auth/github/url')).body.state;
    const googleState: string = (await api.get('/api/v1/auth/google/url')).body.state;
    const forged = `${googleState.slice(0, -4)}AAAA`;
    for (const state of [githubState, forged, 'garbage']) {
      const res = await api.post('/api/v1/auth/google/callback', { code: 'c5', state });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('INVALID_OAUTH_STATE');
    }
    expect((await api.post('/api/v1/auth/google/callback', { code: 'c5' })).status).toBe(422);
    expect(await database.db.selectFrom('users').select('id').execute()).toHaveLength(0);
  });

  it('answers 401 when the provider refuses the code', async () => {
    const res = await googleSignIn('unknown-code');
    expect(res.status).toBe(401);
    expect(res.body.error_code).toBe('OAUTH_EXCHANGE_FAILED');
  });
});

describe('GitHub sign-in', () => {
  it('signs in with the primary verified email and links to the same account as Google', async () => {
    // Prepare
    codes.set('g1', { google: { sub: 'g-2', email: 'jo@example.com', email_verified: true } });
    codes.set('h1', {
      github: {
        id: 42,
        emails: [
          { email: 'jo-old@example.com', primary: false, verified: false },
          { email: 'jo@example.com', primary: true, verified: true },
        ],
      },
    });
    const viaGoogle = await googleSignIn('g1');

    // Act
    const start = await api.get('/api/v2/auth/github/url?redirect_port=4999');
    const res = await api.post('/api/v2/auth/github/exchange', { code: 'h1', redirect_port: 4999 });

    // Assess
    expect(new URL(start.body.url).searchParams.get('redirect_uri')).toBe('http://localhost:4999/callback');
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(viaGoogle.body.user.id);
    expect(redirects.at(-1)).toBe('http://localhost:4999/callback');
    const user = await database.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    expect(user).toMatchObject({ github_id: '42', google_subject: 'g-2' });
  });

  it('checks a state when the client sends one', async () => {
    codes.set('h2', {
      github: { id: 7, emails: [{ email: 'kai@example.com', primary: true, verified: true }] },
    });
    const { state } = (await api.get('/api/v1/auth/github/url?redirect_port=4280')).body;
    const otherPort = await api.post('/api/v1/auth/github/exchange', {
      code: 'h2',
      redirect_port: 4281,
      state,
    });
    expect(otherPort.status).toBe(400);
    const good = await api.post('/api/v1/auth/github/exchange', { code: 'h2', redirect_port: 4280, state });
    expect(good.status).toBe(200);
  });

  it('answers 401 for a bad code even though GitHub says so with a 200', async () => {
    const res = await api.post('/api/v1/auth/github/exchange', { code: 'nope', redirect_port: 4280 });
    expect(res.status).toBe(401);
    expect(res.body.error_code).toBe('OAUTH_EXCHANGE_FAILED');
  });
});

describe('unconfigured providers', () => {
  it('answers 503 OAUTH_NOT_CONFIGURED', async () => {
    const saved = process.env.GITHUB_CLIENT_ID;
    delete process.env.GITHUB_CLIENT_ID;
    resetConfig();
    try {
      const res = await api.get('/api/v1/auth/github/url');
      expect(res.status).toBe(503);
      expect(res.body.error_code).toBe('OAUTH_NOT_CONFIGURED');
    } finally {
      process.env.GITHUB_CLIENT_ID = saved;
      resetConfig();
    }
  });
});
