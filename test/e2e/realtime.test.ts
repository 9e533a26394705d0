import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { startLocalServer } from '../../bin/serve';
import { resetConfig } from '../../shared/config';
import { fixture } from '../helpers/audio';
import { type Account, createApiKey, registerAccount, strictAuth } from '../helpers/auth';
import { useTestDatabase } from '../helpers/db';
import { expectError } from '../helpers/expect-error';
import { reply } from '../helpers/fake-gemini';
import { createServerApi, multipart, type TestApi } from '../helpers/http';
import {
  closeSockets,
  EVENT_TIMEOUT_MS,
  openRecordingSocket,
  realtimeUrl,
  type RecordingSocket,
} from '../helpers/socket';
import { useFakeGemini } from '../helpers/use-fake-gemini';

/**
 * The realtime socket as the desktop app sees it: the real local server (bin/serve.ts), real WebSocket
 * connections, and the REST calls the app makes over HTTP. Events are awaited with a timeout, never slept for.
 */
// Every test makes accounts of its own, so nothing needs clearing (and a describe's beforeAll account stays).
const database = useTestDatabase({ clearBetweenTests: false });
const savedEnv = { ...process.env };
let mode: ReturnType<typeof strictAuth>;
const gemini = useFakeGemini();
const { fake } = gemini;
let server: Server;
let base: string;
let api: TestApi;

/** A socket after its greeting; `received` keeps what came after it. */
interface Socket extends RecordingSocket {
  /** The session_ready event the socket opened with. */
  session: any;
}

const wsUrl = (query: Record<string, string | undefined>, version = 'v1') =>
  realtimeUrl(base, query, version);

/** Every socket is greeted first with session_ready, then service_status (API.md, "Realtime socket"). */
async function connect(query: Record<string, string | undefined>, version = 'v1'): Promise<Socket> {
  const socket = await openRecordingSocket(wsUrl(query, version));
  const session = await socket.next();
  expect(session).toMatchObject({ event: 'session_ready', client_id: expect.any(String) });
  expect(await socket.next()).toEqual({ event: 'service_status', enabled: expect.any(Boolean) });
  socket.forget();
  return Object.assign(socket, { session });
}

/**
 * A socket the server opens only to say why it refuses it: the error event, then the close code that
 * tells the 4.x app not to reconnect with the same request (4001, 4003, 1008).
 */
async function refusedSocket(
  query: Record<string, string | undefined>,
): Promise<{ code: number; reason: string; messages: any[] }> {
  const socket = await openRecordingSocket(wsUrl(query));
  const { code, reason } = await socket.closed;
  return { code, reason, messages: socket.received };
}

/** Sends a handshake over raw TCP (so it can be malformed) and returns the whole answer. */
function rawHandshake(path: string, versionHeader = 'Sec-WebSocket-Version: 13'): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${versionHeader}\r\n\r\n`,
      ),
    );
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** Polls a condition that the server reaches on its own after a socket event (such as a close). */
async function eventually(check: () => Promise<boolean>, timeoutMs = EVENT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const connectionRows = (networkId: string) =>
  database.db
    .selectFrom('realtime_connections')
    .select(['connection_id', 'client_id', 'user_id', 'api_key_id'])
    .where('network_id', '=', networkId)
    .execute();

/** A desktop app: an account with a registered client. */
async function desktopApp(name: string, clientId = 'desktop-1'): Promise<Account> {
  const account = await registerAccount(api, name);
  const client = await api.post(
    '/api/v1/service/clients',
    { client_id: clientId },
    { token: account.accessToken },
  );
  expect(client.status).toBe(201);
  return account;
}

/** A token-scoped upload with the client's own transcript (no model needed to store it). */
const upload = (token: string, transcript: string, clientId = 'desktop-1', file = 'voice-a-1.mp3') =>
  api.post(
    '/api/v1/interactions/register',
    multipart({
      audio: { filename: file, content: fixture(file), mimetype: 'audio/mpeg' },
      client_id: clientId,
      transcript,
    }),
    { token },
  );

beforeAll(async () => {
  mode = strictAuth();
  gemini.configure({ maxAttempts: 1 });
});

afterAll(async () => {
  mode?.restore();
  process.env = savedEnv;
  resetConfig();
});

describe('the realtime socket', () => {
  // Inside this block, so the server starts after useTestDatabase installed the database and stops
  // (with every $disconnect handled) before it is dropped.
  beforeAll(async () => {
    server = await startLocalServer(0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    api = createServerApi(base);
  });

  afterEach(async () => {
    await closeSockets();
    fake.reset();
  });

  afterAll(async () => {
    await closeSockets();
    // $disconnect runs after the close is seen: wait for it before the database goes.
    await eventually(
      async () =>
        (await database.db.selectFrom('realtime_connections').select('connection_id').execute()).length === 0,
    );
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('opens with the access token and answers a ping with a pong, on v1 and v2', async () => {
    const user = await desktopApp('pinger');

    const v1 = await connect({ token: user.accessToken, client_id: 'desktop-1' });
    const v2 = await connect({ token: user.accessToken, client_id: 'desktop-1' }, 'v2');
    v1.send({ type: 'ping' });
    v2.send({ type: 'ping' });

    expect(await v1.next()).toEqual({ type: 'pong' });
    expect(await v2.next()).toEqual({ type: 'pong' });
    const rows = await connectionRows(user.networkId);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.client_id === 'desktop-1' && r.user_id === user.userId)).toBe(true);
  });

  it('answers anything but a ping with an error event and stays open', async () => {
    const user = await desktopApp('chatty');
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });

    socket.send({ type: 'hello' });
    socket.ws.send('not json');
    socket.send({ type: 'ping' });

    for (let i = 0; i < 2; i++) {
      expect(await socket.next()).toEqual({
        event: 'error',
        detail: expect.any(String),
        error_code: 'UNKNOWN_MESSAGE',
        timestamp: expect.any(String),
      });
    }
    expect(await socket.next()).toEqual({ type: 'pong' });
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('pushes service_status when the network is disabled and enabled, and refuses uploads meanwhile', async () => {
    const user = await desktopApp('toggler');
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });

    const disabled = await api.patch('/api/v1/service/network/disable', undefined, {
      token: user.accessToken,
    });
    expect(disabled.status).toBe(200);
    expect(await socket.next()).toEqual({ event: 'service_status', enabled: false });
    const info = await api.get('/api/v1/service/info', { token: user.accessToken });
    expect(info.body.service_enabled).toBe(false);

    const refused = await upload(user.accessToken, 'Is anyone listening?');
    expectError(refused, 409, 'SERVICE_DISABLED');

    const enabled = await api.patch('/api/v1/service/network/enable', undefined, {
      token: user.accessToken,
    });
    expect(enabled.status).toBe(200);
    expect(await socket.next()).toEqual({ event: 'service_status', enabled: true });

    const accepted = await upload(user.accessToken, 'Now you hear me');
    expect(accepted.status).toBe(204);
    expect(await socket.next()).toMatchObject({ event: 'interaction', data: { text: 'Now you hear me' } });
    // Nothing was stored, and nothing was announced, for the refused upload.
    const listed = await api.get('/api/v1/interactions', { token: user.accessToken });
    expect(listed.body.map((i: any) => i.text)).toEqual(['Now you hear me']);
    expect(socket.received.filter((m) => m.event === 'interaction')).toHaveLength(1);
  });

  it('pushes service_status for PATCH P/service/disable and enable (network-scoped path)', async () => {
    const user = await desktopApp('legacy-toggler');
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });
    const P = `/api/v2/${user.networkId}`;

    expect((await api.patch(`${P}/service/disable`, undefined, { token: user.accessToken })).status).toBe(
      200,
    );
    expect(await socket.next()).toEqual({ event: 'service_status', enabled: false });
    expect((await api.patch(`${P}/service/enable`, undefined, { token: user.accessToken })).status).toBe(200);
    expect(await socket.next()).toEqual({ event: 'service_status', enabled: true });
  });

  it('refuses uploads from a disabled client with 409 CLIENT_DISABLED', async () => {
    const user = await desktopApp('client-toggler');
    const disabled = await api.patch(
      '/api/v1/service/disable',
      { client_id: 'desktop-1' },
      { token: user.accessToken },
    );
    expect(disabled.status).toBe(200);

    expectError(await upload(user.accessToken, 'Hello?'), 409, 'CLIENT_DISABLED');
  });

  it('delivers a token-scoped upload (204) as an interaction event equal to GET P/interactions/{id}', async () => {
    const user = await desktopApp('uploader');
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });

    const res = await upload(user.accessToken, 'The kettle has boiled');

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const pushed = await socket.next((m) => m.event === 'interaction');
    expect(Object.keys(pushed).sort()).toEqual(['data', 'event']);
    expect(pushed.data).toMatchObject({
      id: expect.any(String),
      network_id: user.networkId,
      client_id: 'desktop-1',
      interaction_type: 'audio',
      text: 'The kettle has boiled',
    });
    const fetched = await api.get(`/api/v1/interactions/${pushed.data.id}`, { token: user.accessToken });
    expect(fetched.status).toBe(200);
    expect(pushed.data).toEqual(fetched.body);
    // The network-scoped form answers the same object.
    const scoped = await api.get(`/api/v2/${user.networkId}/interactions/${pushed.data.id}`, {
      token: user.accessToken,
    });
    expect(pushed.data).toEqual(scoped.body);
  });

  it('delivers events to every socket of the network, including one opened with a network API key', async () => {
    const user = await desktopApp('many-devices');
    const key = await createApiKey(api, user, 'kitchen-speaker');
    const desktop = await connect({ token: user.accessToken, client_id: 'desktop-1' });
    const speaker = await connect({ token: key.key, client_id: 'kitchen' });
    const speakerWithNetwork = await connect({
      token: key.key,
      client_id: 'hall',
      network_id: user.networkId,
    });

    await api.patch('/api/v1/service/network/disable', undefined, { token: user.accessToken });

    for (const socket of [desktop, speaker, speakerWithNetwork]) {
      expect(await socket.next()).toEqual({ event: 'service_status', enabled: false });
    }
    const rows = await connectionRows(user.networkId);
    expect(rows.filter((r) => r.api_key_id === key.id).map((r) => r.client_id)).toEqual(
      expect.arrayContaining(['kitchen', 'hall']),
    );
  });

  it('pushes command_response and the action a wake-word command created, then the action’s updates', async () => {
    const user = await desktopApp('commander');
    // The fixture voices are not the owner's enrolled voice: let anyone wake Mira.
    await database.db
      .updateTable('networks')
      .set({ settings: JSON.stringify({ wake_word_speakers: 'anyone' }) })
      .where('id', '=', user.networkId)
      .execute();
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });
    fake.enqueue(
      reply.functionCalls({
        name: 'create_reminder',
        args: { text: 'Water the plants', scheduled_time: '2030-05-01T09:00:00' },
      }),
      reply.text('I will remind you to water the plants.'),
    );

    const res = await upload(user.accessToken, 'Hey Mira, remind me to water the plants');

    expect(res.status).toBe(204);
    const heard = await socket.next((m) => m.event === 'interaction');
    expect(heard.data.text).toBe('Hey Mira, remind me to water the plants');
    const answered = await socket.next((m) => m.event === 'command_response');
    expect(answered).toEqual({
      event: 'command_response',
      // Register v2: the device whose copy won says the reply.
      data: {
        interaction_id: heard.data.id,
        message: 'I will remind you to water the plants.',
        target_client_id: heard.data.client_id,
      },
    });
    const created = await socket.next((m) => m.event === 'action');
    expect(created.data).toMatchObject({
      network_id: user.networkId,
      interaction_id: heard.data.id,
      action_type: 'remind',
      status: 'pending',
    });
    const pending = await api.get('/api/v1/actions?status=pending', { token: user.accessToken });
    expect(pending.body).toEqual([created.data]);

    const done = await api.patch(
      `/api/v1/actions/${created.data.id}`,
      { status: 'done' },
      { token: user.accessToken },
    );

    expect(done.status).toBe(200);
    expect(await socket.next((m) => m.event === 'action')).toEqual({ event: 'action', data: done.body });
    expect(done.body.status).toBe('done');
  });

  it('pushes the action that inference extracts from an interaction', async () => {
    const user = await desktopApp('inferrer');
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });
    const interaction = await api.post(
      '/api/v1/interactions',
      { content: 'Remind me to call Anna tomorrow at nine', interaction_type: 'text' },
      { token: user.accessToken },
    );
    expect(interaction.status).toBe(201);
    fake.enqueue(
      reply.json({
        action_type: 'remind',
        title: 'Call Anna',
        scheduled_time: '2030-01-02T09:00:00',
        contact: 'Anna',
      }),
    );

    const res = await api.post(
      `/api/v1/interactions/${interaction.body.id}/inference`,
      { client_id: 'desktop-1' },
      { token: user.accessToken },
    );

    expect(res.status).toBe(201);
    expect(await socket.next((m) => m.event === 'action')).toEqual({ event: 'action', data: res.body });
  });

  describe('refuses a socket with the API error body and the close code the app expects', () => {
    let user: Account;
    beforeAll(async () => {
      user = await desktopApp('refused');
    });

    it('without a token: opened, told UNAUTHORIZED and closed with 4001 (the app does not retry)', async () => {
      const res = await refusedSocket({ client_id: 'desktop-1' });
      expect(res.code).toBe(4001);
      expect(res.messages).toEqual([
        { event: 'error', data: expect.objectContaining({ error_code: 'UNAUTHORIZED', detail: res.reason }) },
      ]);
    });

    it('that is no WebSocket version 13 handshake: 400, and nothing is stored', async () => {
      const res = await rawHandshake(
        `/api/v1/realtime/ws?client_id=desktop-1&token=${user.accessToken}`,
        'Sec-WebSocket-Version: 99',
      );

      expect(res).toMatch(/^HTTP\/1.1 400 /);
      expect(res).toContain('"error_code":"BAD_HANDSHAKE"');
      const rows = await database.db
        .selectFrom('realtime_connections')
        .selectAll()
        .where('user_id', '=', user.userId)
        .execute();
      expect(rows).toEqual([]);
    });

    it.each([
      ['a malformed token', () => 'not-a-jwt', 'INVALID_TOKEN'],
      ['the refresh token instead of the access token', () => user.refreshToken, 'INVALID_TOKEN'],
      ['an unknown API key', () => 'mk_0000000000000000000000000000000000000000', 'INVALID_API_KEY'],
    ])('with %s: closed with 4001', async (_name, token, code) => {
      const res = await refusedSocket({ token: token(), client_id: 'desktop-1' });
      expect(res.code).toBe(4001);
      expect(res.messages[0].data.error_code).toBe(code);
    });

    it('without client_id: closed with 1008 and the validation errors', async () => {
      const res = await refusedSocket({ token: user.accessToken });
      expect(res.code).toBe(1008);
      expect(res.messages[0].data).toMatchObject({
        error_code: 'VALIDATION_ERROR',
        errors: [expect.objectContaining({ path: 'query.client_id' })],
      });
    });

    it('with a network_id that is no UUID: closed with 1008', async () => {
      const res = await refusedSocket({
        token: user.accessToken,
        client_id: 'desktop-1',
        network_id: 'kitchen',
      });
      expect(res.code).toBe(1008);
      expect(res.messages[0].data.error_code).toBe('VALIDATION_ERROR');
    });

    it('with another user’s network id: closed with 4003, for a user token and for an API key', async () => {
      const other = await desktopApp('refused-other');
      const key = await createApiKey(api, user, 'device');

      const byUser = await refusedSocket({
        token: user.accessToken,
        client_id: 'desktop-1',
        network_id: other.networkId,
      });
      const byKey = await refusedSocket({
        token: key.key,
        client_id: 'desktop-1',
        network_id: other.networkId,
      });

      for (const refused of [byUser, byKey]) {
        expect(refused.code).toBe(4003);
        expect(refused.messages[0].data.error_code).toBe('FORBIDDEN');
      }
      expect(await connectionRows(other.networkId)).toEqual([]);
      expect(await connectionRows(user.networkId)).toEqual([]);
    });

    it('a plain GET of the socket path: 426 UPGRADE_REQUIRED', async () => {
      for (const version of ['v1', 'v2']) {
        const res = await api.get(
          `/api/${version}/realtime/ws?token=${user.accessToken}&client_id=desktop-1`,
        );
        expectError(res, 426, 'UPGRADE_REQUIRED');
        expect(res.headers.upgrade).toBe('websocket');
      }
    });
  });

  it('keeps networks apart: a socket of user B’s network hears nothing of user A’s network', async () => {
    const a = await desktopApp('isolated-a');
    const b = await desktopApp('isolated-b');
    const aSocket = await connect({ token: a.accessToken, client_id: 'desktop-1' });
    const bSocket = await connect({ token: b.accessToken, client_id: 'desktop-1' });

    // Everything that publishes, on A's network.
    await api.patch('/api/v1/service/network/disable', undefined, { token: a.accessToken });
    await api.patch('/api/v1/service/network/enable', undefined, { token: a.accessToken });
    expect((await upload(a.accessToken, 'A-SECRET-WORDS')).status).toBe(204);
    await aSocket.next((m) => m.event === 'interaction');
    await aSocket.next((m) => m.event === 'conversation');
    // Then one event on B's network: sockets deliver in order, so anything of A's would have come first.
    await api.patch('/api/v1/service/network/disable', undefined, { token: b.accessToken });
    await bSocket.next((m) => m.event === 'service_status');

    expect(bSocket.received).toEqual([{ event: 'service_status', enabled: false }]);
    expect(JSON.stringify(bSocket.received)).not.toContain(a.networkId);
    expect(aSocket.received.map((m) => m.event)).toEqual([
      'service_status',
      'service_status',
      'interaction',
      'conversation',
    ]);
  });

  it('removes the connection row when the socket closes, and later events still reach the other sockets', async () => {
    const user = await desktopApp('closer');
    const leaving = await connect({ token: user.accessToken, client_id: 'desktop-1' });
    const staying = await connect({ token: user.accessToken, client_id: 'laptop' });
    expect(await connectionRows(user.networkId)).toHaveLength(2);

    await leaving.close();

    await eventually(async () => (await connectionRows(user.networkId)).length === 1);
    expect((await connectionRows(user.networkId)).map((r) => r.client_id)).toEqual(['laptop']);
    const res = await api.patch('/api/v1/service/network/disable', undefined, { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(await staying.next()).toEqual({ event: 'service_status', enabled: false });
    expect(leaving.received).toEqual([]);
  });

  it('forgets a socket whose close it never saw: the next publish drops its row', async () => {
    const user = await desktopApp('vanished');
    // A row for a connection the server holds no socket for (a crashed client seen by another instance).
    await database.db
      .insertInto('realtime_connections')
      .values({
        connection_id: 'gone-connection',
        network_id: user.networkId,
        user_id: user.userId,
        client_id: 'old-laptop',
      })
      .execute();
    const socket = await connect({ token: user.accessToken, client_id: 'desktop-1' });

    const res = await api.patch('/api/v1/service/network/disable', undefined, { token: user.accessToken });

    expect(res.status).toBe(200);
    expect(await socket.next()).toEqual({ event: 'service_status', enabled: false });
    expect((await connectionRows(user.networkId)).map((r) => r.client_id)).toEqual(['desktop-1']);
  });
});
