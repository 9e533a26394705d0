import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { useTestDatabase } from '../../helpers/db';
import { useStrictAuth } from '../../helpers/use-strict-auth';
import { createTestApi } from '../../helpers/http';
import { registerAccount } from '../../helpers/auth';

const database = useTestDatabase();
const api = createTestApi();
useStrictAuth();

const secret = () => new TextEncoder().encode(process.env.JWT_SECRET);

describe('accounts and tokens', () => {
  it('registers an account with its own network and answers the token response of API.md', async () => {
    // Act
    const res = await api.post('/api/v2/auth/register', {
      email: 'Ana@Example.com',
      password: 'correct horse battery',
      username: 'ana',
    });

    // Assess
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'bearer',
      user: { id: expect.any(String), email: 'Ana@Example.com', username: 'ana', is_active: true },
      network_id: expect.any(String),
    });
    expect(res.text).not.toContain('correct horse');
    const member = await database.db.selectFrom('network_members').selectAll().executeTakeFirstOrThrow();
    expect(member).toMatchObject({
      network_id: res.body.network_id,
      user_id: res.body.user.id,
      role: 'owner',
    });
    const user = await database.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    expect(user.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a second account with the same email or username with 409', async () => {
    await registerAccount(api, 'bea');
    const sameEmail = await api.post('/api/v1/auth/register', {
      email: 'BEA@example.com',
      password: 'whatever123',
    });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.body.error_code).toBe('EMAIL_TAKEN');
    const sameName = await api.post('/api/v1/auth/register', {
      email: 'other@example.com',
      password: 'whatever123',
      username: 'Bea',
    });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error_code).toBe('USERNAME_TAKEN');
    expect(await database.db.selectFrom('users').select('id').execute()).toHaveLength(1);
  });

  it('rejects a weak password and a malformed email with 422 and creates nothing', async () => {
    const res = await api.post('/api/v1/auth/register', { email: 'not-an-email', password: 'short' });
    expect(res.status).toBe(422);
    expect(await database.db.selectFrom('users').select('id').execute()).toHaveLength(0);
  });

  it('logs in with the email or the username and answers the same network', async () => {
    const account = await registerAccount(api, 'cleo');
    const byEmail = await api.post('/api/v1/auth/login', {
      email: 'CLEO@example.com',
      password: account.password,
    });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.network_id).toBe(account.networkId);
    const byUsername = await api.post('/api/v1/auth/login', { username: 'cleo', password: account.password });
    expect(byUsername.status).toBe(200);
    const usernameInEmailField = await api.post('/api/v1/auth/login', {
      email: 'cleo',
      password: account.password,
    });
    expect(usernameInEmailField.status).toBe(200);
  });

  it('refuses a wrong password and an unknown account alike with 401', async () => {
    const account = await registerAccount(api, 'dan');
    const wrong = await api.post('/api/v1/auth/login', { email: account.email, password: 'wrong password' });
    const unknown = await api.post('/api/v1/auth/login', {
      email: 'nobody@example.com',
      password: 'wrong password',
    });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.error_code).toBe('INVALID_CREDENTIALS');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(wrong.body.detail).toBe(unknown.body.detail);
  });

  it('accepts the access token on token-scoped routes and refuses the refresh token there', async () => {
    const account = await registerAccount(api, 'eve');
    const good = await api.get('/api/v1/service/info', { token: account.accessToken });
    expect(good.status).toBe(200);
    expect(good.body.id).toBe(account.networkId);
    const wrongType = await api.get('/api/v1/service/info', { token: account.refreshToken });
    expect(wrongType.status).toBe(401);
    expect(wrongType.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('refuses an access token used as a refresh token', async () => {
    const account = await registerAccount(api, 'fay');
    const res = await api.post('/api/v1/auth/refresh', { refresh_token: account.accessToken });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('invalid_token');
  });

  /** Moves every use of a refresh token back by a minute: the reuse grace window (seconds) is over. */
  const graceOver = () =>
    database.db
      .updateTable('refresh_tokens')
      .set({ used_at: sql<Date>`used_at - interval '1 minute'` })
      .where('used_at', 'is not', null)
      .execute();

  it('rotates refresh tokens and revokes the family when one is used twice after the grace window', async () => {
    // Prepare
    const account = await registerAccount(api, 'gus');

    // Act
    const first = await api.post('/api/v1/auth/refresh', { refresh_token: account.refreshToken });
    const second = await api.post('/api/v1/auth/refresh', { refresh_token: first.body.refresh_token });
    await graceOver();
    const replay = await api.post('/api/v1/auth/refresh', { refresh_token: account.refreshToken });
    const afterReplay = await api.post('/api/v1/auth/refresh', { refresh_token: second.body.refresh_token });
    const accessAfterReplay = await api.get('/api/v1/persons', {
      headers: { authorization: `Bearer ${second.body.access_token}` },
    });

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(account.refreshToken);
    expect(second.status).toBe(200);
    expect(replay.status).toBe(401);
    expect(replay.body.error_code).toBe('REFRESH_TOKEN_REUSED');
    expect(afterReplay.status).toBe(401);
    // The access tokens of the revoked family stop at once, not when they expire.
    expect(accessAfterReplay.status).toBe(401);
    expect(accessAfterReplay.body.error_code).toBe('TOKEN_REVOKED');
    const live = await database.db
      .selectFrom('refresh_tokens')
      .select('jti')
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toHaveLength(0);
  });

  it('gives 4 parallel refreshes with one token the same new pair, which then works (no logout)', async () => {
    // Prepare: both desktop generations send one refresh per request that failed on the expired token.
    const account = await registerAccount(api, 'gil');

    // Act
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        api.post('/api/v1/auth/refresh', { refresh_token: account.refreshToken }),
      ),
    );
    const withNewAccess = await api.get('/api/v1/persons', { token: results[0].body.access_token });
    const nextRefresh = await api.post('/api/v1/auth/refresh', {
      refresh_token: results[0].body.refresh_token,
    });

    // Assess
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const pairs = new Set(results.map((r) => `${r.body.access_token} ${r.body.refresh_token}`));
    expect(pairs.size).toBe(1);
    expect(withNewAccess.status).toBe(200);
    expect(nextRefresh.status).toBe(200);
  });

  it('keeps nothing a database reader could use: the remembered pair is sealed with the used token', async () => {
    const account = await registerAccount(api, 'gia');
    const rotated = await api.post('/api/v1/auth/refresh', { refresh_token: account.refreshToken });
    const rows = await database.db.selectFrom('refresh_tokens').select('successor').execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(rotated.body.refresh_token);
    expect(stored).not.toContain(rotated.body.access_token);
  });

  it('keeps other sign-ins alive when one family is revoked', async () => {
    const account = await registerAccount(api, 'hal');
    const other = await api.post('/api/v1/auth/login', { email: account.email, password: account.password });
    const rotated = await api.post('/api/v1/auth/refresh', { refresh_token: account.refreshToken });
    await api.post('/api/v1/auth/refresh', { refresh_token: account.refreshToken });
    expect(rotated.status).toBe(200);
    expect((await api.post('/api/v1/auth/refresh', { refresh_token: other.body.refresh_token })).status).toBe(
      200,
    );
  });

  describe('bad tokens get 401 with WWW-Authenticate', () => {
    const cases: Array<[string, (userId: string) => Promise<string | undefined>]> = [
      ['missing', async () => undefined],
      ['garbage', async () => 'not.a.jwt'],
      [
        'tampered',
        async (userId) => {
          const token = await new SignJWT({ type: 'access' })
            .setProtectedHeader({ alg: 'HS256' })
            .setIssuer('mira')
            .setSubject(userId)
            .setExpirationTime('10m')
            .sign(secret());
          const [header, payload, signature] = token.split('.');
          const forged = Buffer.from(
            JSON.stringify({
              ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
              sub: userId,
              admin: true,
            }),
          ).toString('base64url');
          return `${header}.${forged}.${signature}`;
        },
      ],
      [
        'expired',
        async (userId) =>
          new SignJWT({ type: 'access' })
            .setProtectedHeader({ alg: 'HS256' })
            .setIssuer('mira')
            .setSubject(userId)
            .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
            .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
            .sign(secret()),
      ],
      [
        'wrong algorithm',
        async (userId) =>
          new SignJWT({ type: 'access' })
            .setProtectedHeader({ alg: 'HS512' })
            .setIssuer('mira')
            .setSubject(userId)
            .setExpirationTime('10m')
            .sign(secret()), // the right secret, the wrong algorithm
      ],
      [
        'unsigned (alg none)',
        async (userId) =>
          `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
            JSON.stringify({
              type: 'access',
              sub: userId,
              iss: 'mira',
              exp: Math.floor(Date.now() / 1000) + 600,
            }),
          ).toString('base64url')}.`,
      ],
      [
        'signed with another secret',
        async (userId) =>
          new SignJWT({ type: 'access' })
            .setProtectedHeader({ alg: 'HS256' })
            .setIssuer('mira')
            .setSubject(userId)
            .setExpirationTime('10m')
            .sign(new TextEncoder().encode('some other secret entirely')),
      ],
      [
        'wrong type',
        async (userId) =>
          new SignJWT({ type: 'refresh', fam: userId })
            .setProtectedHeader({ alg: 'HS256' })
            .setIssuer('mira')
            .setSubject(userId)
            .setJti(userId)
            .setExpirationTime('10m')
            .sign(secret()),
      ],
    ];

    it.each(cases)('%s', async (_name, make) => {
      // Prepare
      const account = await registerAccount(api);
      const token = await make(account.userId);

      // Act
      const paths = ['/api/v1/service/info', `/api/v1/${account.networkId}/service/info`];
      for (const path of paths) {
        const res = await api.get(path, token ? { token } : {});

        // Assess
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        if (token) expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
        expect(res.body).toEqual({
          detail: expect.any(String),
          error_code: expect.any(String),
          timestamp: expect.any(String),
        });
      }
    });

    it('says TOKEN_EXPIRED for an expired token so the client knows to refresh', async () => {
      const account = await registerAccount(api);
      const token = await cases.find(([name]) => name === 'expired')![1](account.userId);
      const res = await api.get('/api/v1/service/info', { token });
      expect(res.body.error_code).toBe('TOKEN_EXPIRED');
    });
  });

  it('refuses another Authorization scheme on protected routes but not on open ones', async () => {
    const account = await registerAccount(api, 'jan');
    const basic = { headers: { authorization: 'Basic dXNlcjpwYXNz' } };
    const protectedRes = await api.get(`/api/v1/${account.networkId}/service/info`, basic);
    expect(protectedRes.status).toBe(401);
    expect(protectedRes.headers['www-authenticate']).toContain('error="invalid_token"');
    expect((await api.get('/health', basic)).status).toBe(200);
  });

  it('refreshes even when the client also sends its expired access token', async () => {
    const account = await registerAccount(api, 'kit');
    const res = await api.post(
      '/api/v1/auth/refresh',
      { refresh_token: account.refreshToken },
      { token: 'expired.or.garbage' },
    );
    expect(res.status).toBe(200);
  });

  it('refuses POST /networks with a bad token instead of creating an ownerless network', async () => {
    const res = await api.post('/api/v1/networks', { name: 'X' }, { token: 'garbage' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('invalid_token');
    expect(await database.db.selectFrom('networks').select('id').execute()).toHaveLength(0);
  });

  it('refuses a token whose user was deleted', async () => {
    const account = await registerAccount(api, 'ivy');
    await database.db.deleteFrom('users').where('id', '=', account.userId).execute();
    const res = await api.get('/api/v1/service/info', { token: account.accessToken });
    expect(res.status).toBe(401);
  });
});
