import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strictAuth } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { createTestApi } from '../../helpers/http';

useTestDatabase();
const api = createTestApi();
let mode: ReturnType<typeof strictAuth>;
beforeAll(() => {
  mode = strictAuth();
});
afterAll(() => mode.restore());

describe('the desktop app flow', () => {
  it('registers, then works on its own network with the token alone and never names a network id', async () => {
    // Prepare: the app registers and keeps the access token.
    const registered = await api.post('/api/v1/auth/register', {
      email: 'desk@example.com',
      password: 'desktop app password',
    });
    expect(registered.status).toBe(201);
    const token = registered.body.access_token;

    // Act
    const client = await api.post('/api/v1/service/clients', { client_id: 'desktop-1' }, { token });
    const clients = await api.get('/api/v1/service/clients', { token });
    const info = await api.get('/api/v2/service/info', { token });
    const enrolled = await api.post('/api/v1/persons', { name: 'Ada' }, { token });
    const persons = await api.get('/api/v1/persons', { token });

    // Assess
    expect(client.status).toBe(201);
    expect(clients.status).toBe(200);
    expect(clients.body).toEqual(['desktop-1']);
    expect(info.body).toMatchObject({ id: registered.body.network_id, connected_clients: ['desktop-1'] });
    expect(enrolled.status).toBe(201);
    expect(persons.status).toBe(200);
    expect(persons.body).toEqual([
      expect.objectContaining({
        name: 'Ada',
        index: 1,
        network_id: registered.body.network_id,
        has_voice_embedding: false,
      }),
    ]);
  });
});
