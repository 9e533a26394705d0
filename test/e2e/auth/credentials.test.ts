import { describe, expect, it } from 'vitest';
import { resetConfig } from '../../../shared/config';
import { createApiKey, registerAccount } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { useStrictAuth } from '../../helpers/use-strict-auth';
import { createTestApi } from '../../helpers/http';

const database = useTestDatabase();
const api = createTestApi();
useStrictAuth();

const withLegacy = async (on: boolean, work: () => Promise<void>) => {
  process.env.LEGACY_NETWORK_AUTH = String(on);
  resetConfig();
  try {
    await work();
  } finally {
    process.env.LEGACY_NETWORK_AUTH = 'false';
    resetConfig();
  }
};

describe('network API keys', () => {
  it('creates a key shown once, lists it by prefix only, and stores only its hash', async () => {
    // Prepare
    const owner = await registerAccount(api, 'kim');

    // Act
    const created = await api.post(
      `/api/v1/${owner.networkId}/keys`,
      { name: 'kitchen' },
      { token: owner.accessToken },
    );
    const list = await api.get(`/api/v1/${owner.networkId}/keys`, { token: owner.accessToken });

    // Assess
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^mk_[A-Za-z0-9_-]{40,}$/);
    expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
    expect(list.body).toEqual([
      {
        id: created.body.id,
        name: 'kitchen',
        prefix: created.body.prefix,
        created_at: expect.any(String),
        last_used_at: null,
        revoked_at: null,
      },
    ]);
    expect(list.text).not.toContain(created.body.key);
    const row = await database.db.selectFrom('network_api_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.key_hash).not.toContain(created.body.key);
  });

  it('lets a device use its key in both headers and both path forms', async () => {
    const owner = await registerAccount(api, 'lee');
    const { key } = await createApiKey(api, owner);
    const requests = [
      api.get(`/api/v1/${owner.networkId}/service/info`, { headers: { authorization: `Bearer ${key}` } }),
      api.get(`/api/v2/${owner.networkId}/service/info`, { headers: { 'x-api-key': key } }),
      api.get('/api/v1/service/info', { headers: { authorization: `Bearer ${key}` } }),
      api.get('/api/v2/service/info', { headers: { 'x-api-key': key } }),
    ];
    for (const res of await Promise.all(requests)) {
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(owner.networkId);
    }
    const row = await database.db
      .selectFrom('network_api_keys')
      .select('last_used_at')
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).not.toBeNull();
  });

  it('stops a revoked key at once', async () => {
    // Prepare
    const owner = await registerAccount(api, 'max');
    const { id, key } = await createApiKey(api, owner);
    expect((await api.get('/api/v1/service/clients', { headers: { 'x-api-key': key } })).status).toBe(200);

    // Act
    const revoke = await api.delete(`/api/v1/keys/${id}`, { token: owner.accessToken });
    const after = await api.get('/api/v1/service/clients', { headers: { 'x-api-key': key } });
    const afterScoped = await api.get(`/api/v1/${owner.networkId}/service/clients`, {
      headers: { authorization: `Bearer ${key}` },
    });

    // Assess
    expect(revoke.status).toBe(204);
    for (const res of [after, afterScoped]) {
      expect(res.status).toBe(401);
      expect(res.body.error_code).toBe('INVALID_API_KEY');
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    const list = await api.get('/api/v1/keys', { token: owner.accessToken });
    expect(list.body[0].revoked_at).not.toBeNull();
  });

  it('does not let an API key manage keys or members', async () => {
    const owner = await registerAccount(api, 'ned');
    const { key } = await createApiKey(api, owner);
    const headers = { 'x-api-key': key };
    expect((await api.post('/api/v1/keys', { name: 'more' }, { headers })).status).toBe(403);
    expect((await api.get('/api/v1/keys', { headers })).status).toBe(403);
    expect((await api.get('/api/v1/members', { headers })).status).toBe(403);
  });

  it('answers 404 for revoking an unknown key', async () => {
    const owner = await registerAccount(api, 'oli');
    const res = await api.delete(`/api/v1/keys/${crypto.randomUUID()}`, { token: owner.accessToken });
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('API_KEY_NOT_FOUND');
  });
});

describe('members', () => {
  it('lets an owner add a member by email, who then reaches the network with X-Network-Id', async () => {
    // Prepare
    const owner = await registerAccount(api, 'pam');
    const friend = await registerAccount(api, 'quin');

    // Act
    const added = await api.post(
      '/api/v1/members',
      { email: 'QUIN@example.com' },
      { token: owner.accessToken },
    );
    const viaHeader = await api.get('/api/v1/service/info', {
      token: friend.accessToken,
      headers: { 'x-network-id': owner.networkId },
    });
    const viaPath = await api.get(`/api/v1/${owner.networkId}/service/info`, { token: friend.accessToken });
    const own = await api.get('/api/v1/service/info', { token: friend.accessToken });

    // Assess
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ user_id: friend.userId, role: 'member', email: friend.email });
    expect(viaHeader.body.id).toBe(owner.networkId);
    expect(viaPath.body.id).toBe(owner.networkId);
    expect(own.body.id).toBe(friend.networkId);
    const members = await api.get('/api/v1/members', { token: owner.accessToken });
    expect(members.body.map((m: { role: string }) => m.role).sort()).toEqual(['member', 'owner']);
  });

  it('keeps members from adding people or creating keys, and lets them leave', async () => {
    const owner = await registerAccount(api, 'ray');
    const friend = await registerAccount(api, 'sam');
    const third = await registerAccount(api, 'tom');
    await api.post('/api/v1/members', { email: friend.email }, { token: owner.accessToken });
    const asFriend = { token: friend.accessToken, headers: { 'x-network-id': owner.networkId } };

    expect((await api.post('/api/v1/members', { email: third.email }, asFriend)).body.error_code).toBe(
      'OWNER_REQUIRED',
    );
    expect((await api.post('/api/v1/keys', { name: 'x' }, asFriend)).status).toBe(403);
    expect((await api.delete(`/api/v1/members/${owner.userId}`, asFriend)).status).toBe(403);
    expect((await api.delete(`/api/v1/members/${friend.userId}`, asFriend)).status).toBe(204);
    expect((await api.get('/api/v1/service/info', asFriend)).status).toBe(403);
  });

  it('removes a member at once and never the last owner', async () => {
    const owner = await registerAccount(api, 'uma');
    const friend = await registerAccount(api, 'val');
    await api.post('/api/v1/members', { email: friend.email }, { token: owner.accessToken });
    expect((await api.delete(`/api/v1/members/${friend.userId}`, { token: owner.accessToken })).status).toBe(
      204,
    );
    expect(
      (await api.get(`/api/v1/${owner.networkId}/service/info`, { token: friend.accessToken })).status,
    ).toBe(403);
    const lastOwner = await api.delete(`/api/v1/members/${owner.userId}`, { token: owner.accessToken });
    expect(lastOwner.status).toBe(409);
    expect(lastOwner.body.error_code).toBe('LAST_OWNER');
  });

  it('answers 404 for an unknown email and 409 for a member added twice', async () => {
    const owner = await registerAccount(api, 'wes');
    const friend = await registerAccount(api, 'xia');
    expect(
      (await api.post('/api/v1/members', { email: 'ghost@example.com' }, { token: owner.accessToken }))
        .status,
    ).toBe(404);
    await api.post('/api/v1/members', { email: friend.email }, { token: owner.accessToken });
    expect(
      (await api.post('/api/v1/members', { email: friend.email }, { token: owner.accessToken })).status,
    ).toBe(409);
  });
});

describe('networks and legacy access', () => {
  it('makes the caller of POST /networks its owner', async () => {
    const user = await registerAccount(api, 'yan');
    const res = await api.post('/api/v1/networks', { name: 'Office' }, { token: user.accessToken });
    expect(res.status).toBe(201);
    const role = await database.db
      .selectFrom('network_members')
      .select('role')
      .where('network_id', '=', res.body.id)
      .where('user_id', '=', user.userId)
      .executeTakeFirst();
    expect(role?.role).toBe('owner');
    const info = await api.get(`/api/v1/${res.body.id}/service/info`, { token: user.accessToken });
    expect(info.body.name).toBe('Office');
  });

  it('refuses an anonymous POST /networks and anonymous network access when legacy mode is off', async () => {
    const user = await registerAccount(api, 'zed');
    const create = await api.post('/api/v1/networks', { name: 'Nobody' });
    expect(create.status).toBe(401);
    expect(create.headers['www-authenticate']).toMatch(/^Bearer/);
    const read = await api.get(`/api/v1/${user.networkId}/service/info`);
    expect(read.status).toBe(401);
    expect(read.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(await database.db.selectFrom('networks').select('id').execute()).toHaveLength(1);
  });

  it('serves old clients by network id alone only when LEGACY_NETWORK_AUTH is true', async () => {
    await withLegacy(true, async () => {
      const created = await api.post('/api/v1/networks', { name: 'Legacy' });
      expect(created.status).toBe(201);
      expect((await api.get(`/api/v1/${created.body.id}/service/info`)).status).toBe(200);
      // Token-scoped paths always need a credential: there is no network to guess.
      expect((await api.get('/api/v1/service/info')).status).toBe(401);
      // A credential that is sent is checked even in legacy mode.
      expect(
        (await api.get(`/api/v1/${created.body.id}/service/info`, { token: 'bad.token.here' })).status,
      ).toBe(401);
      // Key and member management needs a user, never an id alone.
      expect((await api.get(`/api/v1/${created.body.id}/keys`)).status).toBe(401);
    });
  });

  it('never turns legacy access on in production', async () => {
    process.env.STAGE = 'prod';
    try {
      await withLegacy(true, async () => {
        const owner = await registerAccount(api, 'prod');
        expect((await api.get(`/api/v1/${owner.networkId}/service/info`)).status).toBe(401);
      });
    } finally {
      delete process.env.STAGE;
      resetConfig();
    }
  });
});
