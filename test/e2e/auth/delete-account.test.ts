import { describe, expect, it } from 'vitest';
import { registerAccount } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { useStrictAuth } from '../../helpers/use-strict-auth';
import { expectError } from '../../helpers/expect-error';
import { createTestApi } from '../../helpers/http';

const database = useTestDatabase();
const api = createTestApi();
useStrictAuth();

const count = async (table: 'networks' | 'persons' | 'interactions' | 'users', networkId?: string) =>
  Number(
    (
      await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .$if(networkId !== undefined, (q) =>
          q.where(table === 'networks' ? 'id' : 'network_id', '=', networkId!),
        )
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('DELETE auth/me', () => {
  it('deletes the account, its own network with everything in it, and its memberships elsewhere', async () => {
    const ana = await registerAccount(api, 'ana-del');
    const bo = await registerAccount(api, 'bo-del');
    const asAna = { token: ana.accessToken };
    await api.post(`/api/v1/${ana.networkId}/persons`, { name: 'Grandma' }, asAna);
    await api.post(
      `/api/v1/${ana.networkId}/interactions`,
      { content: 'hello', interaction_type: 'text' },
      asAna,
    );
    // Ana is a member of Bo's network too; Bo's network must stay.
    const added = await api.post(
      `/api/v1/${bo.networkId}/members`,
      { email: ana.email, role: 'member' },
      {
        token: bo.accessToken,
      },
    );
    expect(added.status).toBe(201);
    expect((await api.get('/api/v1/auth/me', asAna)).body.email).toBe(ana.email);

    const deleted = await api.delete('/api/v1/auth/me', asAna);

    expect(deleted.status).toBe(204);
    expect(await count('networks', ana.networkId)).toBe(0);
    expect(await count('persons', ana.networkId)).toBe(0);
    expect(await count('interactions', ana.networkId)).toBe(0);
    expect(await count('networks', bo.networkId)).toBe(1);
    const members = await api.get(`/api/v1/${bo.networkId}/members`, { token: bo.accessToken });
    expect(members.body.map((m: any) => m.email)).toEqual([bo.email]);
    // Its tokens stop at once, and it cannot sign in again.
    expectError(await api.get('/api/v1/auth/me', asAna), 401, 'INVALID_TOKEN');
    expectError(
      await api.post('/api/v1/auth/refresh', { refresh_token: ana.refreshToken }),
      401,
      'INVALID_TOKEN',
    );
    const login = await api.post('/api/v1/auth/login', { email: ana.email, password: ana.password });
    expect(login.status).toBe(401);
  });

  it('keeps a network that has another owner', async () => {
    const cy = await registerAccount(api, 'cy-del');
    const di = await registerAccount(api, 'di-del');
    await api.post(
      `/api/v1/${cy.networkId}/members`,
      { email: di.email, role: 'owner' },
      { token: cy.accessToken },
    );

    expect((await api.delete('/api/v1/auth/me', { token: cy.accessToken })).status).toBe(204);

    expect(await count('networks', cy.networkId)).toBe(1);
    expect((await api.get(`/api/v1/${cy.networkId}/persons`, { token: di.accessToken })).status).toBe(200);
  });

  it('needs a user token', async () => {
    expectError(await api.delete('/api/v1/auth/me'), 401, 'UNAUTHORIZED');
  });
});
