import { beforeEach, describe, expect, it } from 'vitest';
import { insertAction } from '../../shared/db/repositories/actions';
import { useTestDatabase } from '../helpers/db';
import { createTestApi } from '../helpers/http';
import { expectError } from '../helpers/expect-error';

const database = useTestDatabase();
const api = createTestApi();

describe('actions context', () => {
  let networkId: string;
  let P: string;

  beforeEach(async () => {
    networkId = (await api.post('/api/v1/networks', { name: 'Home' })).body.id;
    P = `/api/v1/${networkId}`;
  });

  const remind = async (what: string) => {
    const said = (await api.post(`${P}/interactions`, { content: what, interaction_type: 'text' })).body;
    return insertAction(database.db, {
      networkId,
      actionType: 'remind',
      payload: { what },
      interactionId: said.id,
      conversationId: said.conversation_id,
    });
  };

  it('lists actions, filters them by status and marks them done', async () => {
    const call = await remind('Call Bob');
    await remind('Buy milk');
    const all = await api.get(`${P}/actions`);
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(2);
    expect(all.body.find((a: any) => a.id === call.id)).toMatchObject({
      network_id: networkId,
      action_type: 'remind',
      details: 'Call Bob',
      payload: { what: 'Call Bob' },
      status: 'pending',
      completed_time: null,
    });

    const done = await api.patch(`${P}/actions/${call.id}`, { status: 'done' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: call.id, status: 'done', completed_time: expect.any(String) });
    expect((await api.get(`${P}/actions?status=pending`)).body.map((a: any) => a.details)).toEqual([
      'Buy milk',
    ]);
    expect((await api.get(`${P}/actions?status=done`)).body.map((a: any) => a.id)).toEqual([call.id]);
    const reopened = await api.patch(`${P}/actions/${call.id}`, { status: 'pending' });
    expect(reopened.body).toMatchObject({ status: 'pending', completed_time: null });
  });

  it('answers details as text for every client, and takes confirmed as a status (the 4.x app sends it)', async () => {
    const action = await remind('Water the plants');
    const confirmed = await api.patch(`${P}/actions/${action.id}`, { status: 'confirmed' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({
      status: 'confirmed',
      details: 'Water the plants',
      completed_time: null,
    });
    expect(typeof (await api.get(`${P}/actions`)).body[0].details).toBe('string');
  });

  it('deletes an action with 204', async () => {
    const action = await remind('Call Bob');
    const res = await api.delete(`${P}/actions/${action.id}`);
    expect(res.status).toBe(204);
    expect((await api.get(`${P}/actions`)).body).toEqual([]);
  });

  describe('errors', () => {
    it('answers 404 for an action of another network and leaves it alone', async () => {
      const mine = await remind('mine');
      const other = (await api.post('/api/v1/networks', { name: 'Office' })).body.id;
      expectError(
        await api.patch(`/api/v1/${other}/actions/${mine.id}`, { status: 'done' }),
        404,
        'ACTION_NOT_FOUND',
      );
      expectError(await api.delete(`/api/v1/${other}/actions/${mine.id}`), 404, 'ACTION_NOT_FOUND');
      expect((await api.get(`${P}/actions`)).body[0].status).toBe('pending');
    });

    it('answers 422 for an unknown status', async () => {
      const action = await remind('x');
      expectError(
        await api.patch(`${P}/actions/${action.id}`, { status: 'finished' }),
        422,
        'VALIDATION_ERROR',
      );
      expectError(await api.get(`${P}/actions?status=finished`), 422, 'VALIDATION_ERROR');
    });
  });
});
