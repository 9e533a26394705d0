import { describe, expect, it } from 'vitest';
import { registerAccount } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { useStrictAuth } from '../../helpers/use-strict-auth';
import { createTestApi } from '../../helpers/http';
import { resetConfig } from '../../../shared/config';

const database = useTestDatabase();
const api = createTestApi();
useStrictAuth();

describe('login throttling', () => {
  it('answers 429 with Retry-After after five failures on one account, even with the right password', async () => {
    // Prepare
    const account = await registerAccount(api, 'tara');
    for (let i = 0; i < 5; i++) {
      const res = await api.post('/api/v1/auth/login', { email: account.email, password: `wrong-${i}` });
      expect(res.status).toBe(401);
    }

    // Act
    const blocked = await api.post('/api/v1/auth/login', {
      email: account.email,
      password: account.password,
    });

    // Assess
    expect(blocked.status).toBe(429);
    expect(blocked.body.error_code).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(900);
    // The username names the same account, so it shares the budget.
    const byUsername = await api.post('/api/v1/auth/login', { username: 'TARA', password: account.password });
    expect(byUsername.status).toBe(429);
  });

  it('counts in the database, so the block holds for every instance and lifts when the window passes', async () => {
    const account = await registerAccount(api, 'ugo');
    for (let i = 0; i < 5; i++)
      await api.post('/api/v1/auth/login', { email: account.email, password: 'nope' });
    expect(
      (await api.post('/api/v1/auth/login', { email: account.email, password: account.password })).status,
    ).toBe(429);

    // Age the failures past the 15-minute window, as time would.
    await database.db
      .updateTable('login_attempts')
      .set({ attempted_at: new Date(Date.now() - 16 * 60 * 1000) })
      .execute();
    const after = await api.post('/api/v1/auth/login', { email: account.email, password: account.password });
    expect(after.status).toBe(200);
  });

  it('forgives an account its failures after a successful login', async () => {
    const account = await registerAccount(api, 'vic');
    for (let i = 0; i < 4; i++)
      await api.post('/api/v1/auth/login', { email: account.email, password: 'nope' });
    expect(
      (await api.post('/api/v1/auth/login', { email: account.email, password: account.password })).status,
    ).toBe(200);
    for (let i = 0; i < 4; i++)
      await api.post('/api/v1/auth/login', { email: account.email, password: 'nope' });
    expect(
      (await api.post('/api/v1/auth/login', { email: account.email, password: account.password })).status,
    ).toBe(200);
  });

  it('blocks one IP that tries many accounts, and not the others', async () => {
    // Prepare: 20 failures from one address, spread over accounts so no account reaches its own limit.
    const accounts = await Promise.all([registerAccount(api, 'wil'), registerAccount(api, 'xan')]);
    for (let i = 0; i < 20; i++) {
      await api.post('/api/v1/auth/login', { email: `ghost${i % 5}-${i}@example.com`, password: 'nope' });
    }

    // Act
    const sameIp = await api.post('/api/v1/auth/login', {
      email: accounts[0].email,
      password: accounts[0].password,
    });

    // Assess
    expect(sameIp.status).toBe(429);
    expect(sameIp.headers['retry-after']).toMatch(/^\d+$/);
    const rows = await database.db
      .selectFrom('login_attempts')
      .select('throttle_key')
      .where('throttle_key', 'like', 'ip:%')
      .execute();
    expect(rows).toHaveLength(20);
    const otherIp = await api.post(
      '/api/v1/auth/login',
      { email: accounts[1].email, password: accounts[1].password },
      { sourceIp: '203.0.113.7' },
    );
    expect(otherIp.status).toBe(200);
  });

  it('checks no more passwords than the limit, however many wrong ones arrive at once', async () => {
    const account = await registerAccount(api, 'yuri');
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        api.post(
          '/api/v1/auth/login',
          { email: account.email, password: `wrong-${i}` },
          { sourceIp: `198.51.100.${i % 50}` },
        ),
      ),
    );
    const statuses = answers.map((a) => a.status);
    // A 401 is a password that was checked; the rest were refused before any check.
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(95);
  });
});

describe('registration throttling', () => {
  it('answers 429 with Retry-After once an IP has registered its budget of accounts', async () => {
    const before = process.env.REGISTRATIONS_PER_IP;
    process.env.REGISTRATIONS_PER_IP = '3';
    resetConfig();
    try {
      const from = { sourceIp: '192.0.2.44' };
      for (let i = 0; i < 3; i++) {
        const res = await api.post(
          '/api/v1/auth/register',
          { email: `burst${i}@example.com`, password: 'long-enough-password' },
          from,
        );
        expect(res.status).toBe(201);
      }
      const refused = await api.post(
        '/api/v1/auth/register',
        { email: 'burst9@example.com', password: 'long-enough-password' },
        from,
      );
      expect(refused.status).toBe(429);
      expect(refused.body.error_code).toBe('TOO_MANY_ATTEMPTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      const elsewhere = await api.post(
        '/api/v1/auth/register',
        { email: 'other@example.com', password: 'long-enough-password' },
        { sourceIp: '192.0.2.45' },
      );
      expect(elsewhere.status).toBe(201);
    } finally {
      process.env.REGISTRATIONS_PER_IP = before;
      resetConfig();
    }
  });
});
