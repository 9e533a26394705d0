import { beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { createTestApi, multipart } from '../helpers/http';
import { expectError } from '../helpers/expect-error';

const database = useTestDatabase();
const api = createTestApi();

describe('persons context', () => {
  let networkId: string;
  let P: string;

  beforeEach(async () => {
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
  });

  it('creates persons with indexes 1, 2, 3 and lists them at both list paths', async () => {
    const alice = await api.post(`${P}/persons`, { name: 'Alice' });
    expect(alice.status).toBe(201);
    expect(alice.body).toEqual({
      id: expect.any(String),
      network_id: networkId,
      name: 'Alice',
      index: 1,
      has_voice_embedding: false,
      cluster_id: null,
      conversation_count: 0,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    await api.post(`${P}/persons`, { name: 'Bob' });
    await api.post(`/api/v2/${networkId}/persons`, { name: 'Carol' });
    for (const path of [`${P}/persons`, `${P}/persons/all`]) {
      const res = await api.get(path);
      expect(res.status).toBe(200);
      expect(res.body.map((p: any) => [p.name, p.index])).toEqual([
        ['Alice', 1],
        ['Bob', 2],
        ['Carol', 3],
      ]);
    }
  });

  it('keeps indexes unique when persons are created concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => api.post(`${P}/persons`, { name: `Person ${i}` })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(201));
    const indexes = results.map((r) => r.body.index).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('numbers each network on its own', async () => {
    const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
    await api.post(`${P}/persons`, { name: 'Alice' });
    const res = await api.post(`/api/v1/${other}/persons`, { name: 'Zed' });
    expect(res.body.index).toBe(1);
  });

  it('gets a person with the number of conversations they took part in', async () => {
    const alice = (await api.post(`${P}/persons`, { name: 'Alice' })).body;
    await api.post(`${P}/interactions`, { content: 'hello', interaction_type: 'text', person_id: alice.id });
    const res = await api.get(`${P}/persons/${alice.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: alice.id, name: 'Alice', conversation_count: 1 });
  });

  it('renames a person with JSON or a multipart form', async () => {
    const alice = (await api.post(`${P}/persons`, { name: 'Alice' })).body;
    const json = await api.patch(`${P}/persons/${alice.id}`, { name: 'Alicia' });
    expect(json.status).toBe(200);
    expect(json.body.name).toBe('Alicia');
    const form = await api.patch(`${P}/persons/${alice.id}`, multipart({ name: 'Ali' }));
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ name: 'Ali', index: 1 });
    expect((await api.get(`${P}/persons/${alice.id}`)).body.name).toBe('Ali');
  });

  it('deletes a person and keeps their interactions unattributed', async () => {
    const alice = (await api.post(`${P}/persons`, { name: 'Alice' })).body;
    const said = (
      await api.post(`${P}/interactions`, { content: 'hi', interaction_type: 'text', person_id: alice.id })
    ).body;
    const res = await api.delete(`${P}/persons/${alice.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: 'Person deleted successfully',
      deleted_person_id: alice.id,
      network_id: networkId,
    });
    expectError(await api.get(`${P}/persons/${alice.id}`), 404, 'PERSON_NOT_FOUND');
    const interaction = (await api.get(`${P}/interactions/${said.id}`)).body;
    expect(interaction).toMatchObject({ id: said.id, person_id: null, speaker_id: null });
  });

  describe('errors', () => {
    it('answers 404 for a person of another network, and changes nothing there', async () => {
      const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
      const zed = (await api.post(`/api/v1/${other}/persons`, { name: 'Zed' })).body;
      expectError(await api.get(`${P}/persons/${zed.id}`), 404, 'PERSON_NOT_FOUND');
      expectError(await api.patch(`${P}/persons/${zed.id}`, { name: 'Hacked' }), 404, 'PERSON_NOT_FOUND');
      expectError(await api.delete(`${P}/persons/${zed.id}`), 404, 'PERSON_NOT_FOUND');
      expect((await api.get(`/api/v1/${other}/persons/${zed.id}`)).body.name).toBe('Zed');
    });

    it('answers 422 for a malformed id, an empty name or a missing name', async () => {
      expectError(await api.get(`${P}/persons/not-a-uuid`), 422, 'VALIDATION_ERROR');
      expectError(await api.post(`${P}/persons`, { name: '  ' }), 422, 'VALIDATION_ERROR');
      expectError(await api.post(`${P}/persons`, {}), 422, 'VALIDATION_ERROR');
      expect(await database.db.selectFrom('persons').selectAll().execute()).toEqual([]);
    });
  });

  it('renames through POST .../update posted as an HTML form (application/x-www-form-urlencoded)', async () => {
    const person = (await api.post(`${P}/persons`, { name: 'Alice' })).body;
    const res = await api.post(`${P}/persons/${person.id}/update`, Buffer.from('name=Alice+B%C3%B6hm'), {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(res.body.person.name).toBe('Alice Böhm');
  });
});
