import { describe, expect, it, beforeEach } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';
import { expectError } from '../helpers/expect-error';

const database = useTestDatabase();
const api = createTestApi();

describe('service context', () => {
  let networkId: string;
  let P: string;

  beforeEach(async () => {
    const res = await api.post('/api/v1/networks', { name: 'Home' });
    expect(res.status).toBe(201);
    networkId = res.body.id;
    P = `/api/v1/${networkId}`;
  });

  it('creates a network and describes it with its clients in both API versions', async () => {
    await api.post(`${P}/service/client/register/kitchen`);
    for (const version of ['v1', 'v2']) {
      const res = await api.get(`/api/${version}/${networkId}/service/info`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: networkId,
        name: 'Home',
        service_enabled: true,
        settings: {},
        connected_clients: ['kitchen'],
      });
    }
  });

  it('registers clients idempotently and records their addresses', async () => {
    const first = await api.post(`${P}/service/client/register/living room`, {
      local_ip_address: '192.168.1.5',
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ message: 'living room registered successfully' });
    const again = await api.post(`${P}/service/client/register/living%20room`);
    expect(again.status).toBe(200);
    expect((await api.get(`${P}/service/clients`)).body).toEqual(['living room']);
    const row = await database.db.selectFrom('network_clients').selectAll().executeTakeFirstOrThrow();
    expect(row.local_ip_address).toBe('192.168.1.5');
  });

  it('deregisters a client and answers 404 for one that is not registered', async () => {
    await api.post(`${P}/service/client/register/kitchen`);
    expect((await api.delete(`${P}/service/client/deregister/kitchen`)).body).toEqual({
      message: 'kitchen deregistered successfully',
    });
    expectError(await api.delete(`${P}/service/client/deregister/kitchen`), 404, 'CLIENT_NOT_FOUND');
  });

  it('names a client created without client_id client1, client2... skipping names in use', async () => {
    await api.post(`${P}/service/clients`, { client_id: 'client2' });
    const first = await api.post(`${P}/service/clients`, { metadata: { os: 'linux' } });
    const second = await api.post(`${P}/service/clients`, {});
    const third = await api.post(`${P}/service/clients`, {});
    expect([first.status, second.status, third.status]).toEqual([201, 201, 201]);
    expect([first.body.client_id, second.body.client_id, third.body.client_id]).toEqual([
      'client1',
      'client3',
      'client4',
    ]);
    expect(first.body.metadata).toEqual({ os: 'linux' });
  });

  it('creates clients with metadata and refuses a taken name with 409', async () => {
    const res = await api.post(`${P}/service/clients`, { client_id: 'desktop-1', metadata: { os: 'linux' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      client_id: 'desktop-1',
      connected_at: expect.any(String),
      metadata: { os: 'linux' },
    });
    expectError(await api.post(`${P}/service/clients`, { client_id: 'desktop-1' }), 409, 'CLIENT_EXISTS');
  });

  it('deletes a client with 204', async () => {
    await api.post(`${P}/service/clients`, { client_id: 'desktop-1' });
    const res = await api.delete(`${P}/service/clients/desktop-1`);
    expect(res.status).toBe(204);
    expect((await api.get(`${P}/service/clients`)).body).toEqual([]);
    expectError(await api.delete(`${P}/service/clients/desktop-1`), 404, 'CLIENT_NOT_FOUND');
  });

  it('renames a client atomically, carrying its stream quality, and refuses taken names', async () => {
    await api.post(`${P}/service/clients`, { client_id: 'a' });
    await api.post(`${P}/service/clients`, { client_id: 'b' });
    await database.db
      .insertInto('stream_quality')
      .values({ network_id: networkId, client_id: 'a', score: 50 })
      .execute();

    expectError(
      await api.patch(`${P}/service/clients/a/rename`, { new_client_id: 'b' }),
      409,
      'CLIENT_EXISTS',
    );
    const res = await api.patch(`${P}/service/clients/a/rename`, { new_client_id: 'kitchen' });
    expect(res.status).toBe(200);
    expect(res.body.client_id).toBe('kitchen');
    expect((await api.get(`${P}/service/clients`)).body.sort()).toEqual(['b', 'kitchen']);
    const quality = await database.db.selectFrom('stream_quality').select('client_id').execute();
    expect(quality).toEqual([{ client_id: 'kitchen' }]);
    expectError(
      await api.patch(`${P}/service/clients/nope/rename`, { new_client_id: 'x' }),
      404,
      'CLIENT_NOT_FOUND',
    );
  });

  it('lets only one of two concurrent renames to the same name win', async () => {
    await api.post(`${P}/service/clients`, { client_id: 'a' });
    await api.post(`${P}/service/clients`, { client_id: 'b' });
    const results = await Promise.all([
      api.patch(`${P}/service/clients/a/rename`, { new_client_id: 'same' }),
      api.patch(`${P}/service/clients/b/rename`, { new_client_id: 'same' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('enables and disables the service, the network and single clients', async () => {
    await api.post(`${P}/service/client/register/kitchen`);
    expect((await api.patch(`${P}/service/disable`)).status).toBe(200);
    expect((await api.get(`${P}/service/info`)).body.service_enabled).toBe(false);
    expect((await api.patch(`${P}/service/network/enable`)).status).toBe(200);
    expect((await api.get(`${P}/service/info`)).body.service_enabled).toBe(true);
    expect((await api.patch(`${P}/service/network/disable`)).body).toEqual({ message: 'Network disabled' });
    expect((await api.patch(`${P}/service/enable`, { client_id: 'kitchen' })).status).toBe(200);
    expectError(await api.patch(`${P}/service/disable`, { client_id: 'ghost' }), 404, 'CLIENT_NOT_FOUND');
    const kitchen = await database.db
      .selectFrom('network_clients')
      .select('enabled')
      .executeTakeFirstOrThrow();
    expect(kitchen.enabled).toBe(true);
  });

  describe('errors', () => {
    it('answers 422 with field errors for a malformed network id', async () => {
      const res = await api.get('/api/v1/not-a-uuid/service/info');
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.errors).toEqual([{ path: 'path.network_id', message: 'Invalid UUID' }]);
    });

    it('answers 404 for an unknown network', async () => {
      expectError(
        await api.get('/api/v1/00000000-0000-4000-8000-000000000000/service/info'),
        404,
        'NETWORK_NOT_FOUND',
      );
    });

    it('answers 404 for an unknown route and 405 for a wrong method', async () => {
      expectError(await api.get(`${P}/service/nothing-here`), 404, 'ROUTE_NOT_FOUND');
      const wrong = await api.put(`${P}/service/clients`, {});
      expectError(wrong, 405, 'METHOD_NOT_ALLOWED');
      expect(wrong.headers.allow).toContain('GET');
    });

    it('answers 400 for malformed JSON and an empty body', async () => {
      expectError(await api.post(`${P}/service/clients`, '{"client_id":'), 400, 'MALFORMED_JSON');
      expectError(
        await api.request('POST', `${P}/service/clients`, {
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'EMPTY_BODY',
      );
    });

    it('answers 422 for wrong types and invalid client names, 415 for a wrong content type', async () => {
      const wrongType = await api.post(`${P}/service/clients`, { client_id: 42 });
      expectError(wrongType, 422, 'VALIDATION_ERROR');
      expect(wrongType.body.errors[0].path).toBe('body.client_id');
      expectError(
        await api.post(`${P}/service/clients`, { client_id: 'x'.repeat(65) }),
        422,
        'VALIDATION_ERROR',
      );
      expectError(await api.post(`${P}/service/clients`, { client_id: 'bad/name' }), 422, 'VALIDATION_ERROR');
      for (const bad of [' lead', 'trail ', 'tab\there', 'new\nline'])
        expectError(await api.post(`${P}/service/clients`, { client_id: bad }), 422, 'VALIDATION_ERROR');
      for (const name of ["Ankur's MacBook Air", 'Ankur\u2019s iPhone', 'Küche', '客厅', 'pixel-8.home'])
        expect((await api.post(`${P}/service/clients`, { client_id: name })).status).toBe(201);
      expectError(
        await api.post(`${P}/service/clients`, 'client_id=x', { headers: { 'content-type': 'text/plain' } }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      expectError(await api.post('/api/v1/networks', { name: '' }), 422, 'VALIDATION_ERROR');
    });

    it('answers 413 for a huge body and writes nothing', async () => {
      const res = await api.post(`${P}/service/clients`, {
        client_id: 'a',
        metadata: { blob: 'x'.repeat(7 * 1024 * 1024) },
      });
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
      expect((await api.get(`${P}/service/clients`)).body).toEqual([]);
    });

    it('never touches another network through a client name', async () => {
      const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
      await api.post(`/api/v1/${other}/service/clients`, { client_id: 'kitchen' });
      expectError(await api.delete(`${P}/service/clients/kitchen`), 404, 'CLIENT_NOT_FOUND');
      expect((await api.get(`/api/v1/${other}/service/clients`)).body).toEqual(['kitchen']);
    });
  });
});
