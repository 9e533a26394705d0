import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalServer } from '../../../bin/serve';
import { resetConfig } from '../../../shared/config';
import { fixture } from '../../helpers/audio';
import { strictAuth } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { expectError } from '../../helpers/expect-error';
import { reply } from '../../helpers/fake-gemini';
import { createServerApi, multipart, type TestApi } from '../../helpers/http';
import {
  closeSockets,
  EVENT_TIMEOUT_MS,
  openRecordingSocket,
  realtimeUrl,
  type RecordingSocket,
} from '../../helpers/socket';
import { useFakeGemini } from '../../helpers/use-fake-gemini';

/**
 * The desktop and web app 4.x (mira-assistant/frontend) as its users run it, request by request as its
 * source makes them: packages/ui/src/lib/api/{auth,interactions,actions}.ts, lib/realtimeClient.ts and
 * contexts/{Auth,Service,Audio}Context.tsx. It never calls POST P/service/clients: the socket registers
 * its client, and uploads carry the socket's session_token.
 */
const database = useTestDatabase({ clearBetweenTests: false });
const savedEnv = { ...process.env };
const gemini = useFakeGemini();
const { fake } = gemini;
let mode: ReturnType<typeof strictAuth>;
let server: Server;
let base: string;
let api: TestApi;
type AppSocket = RecordingSocket;

/** realtimeClient.ts openSocket(): `${API_PREFIX}/realtime/ws?token=...&client_id=...`. */
function openSocket(
  token: string,
  clientId: string,
  prefix = '/api/v1',
  networkId?: string,
): Promise<AppSocket> {
  const version = prefix.replace('/api/', '');
  return openRecordingSocket(
    realtimeUrl(base, { token, client_id: clientId, network_id: networkId }, version),
  );
}

/** ServiceContext.tsx generateClientId(). */
const generateClientId = () => `client-${crypto.randomUUID().slice(0, 8)}`;

const enrichment = (text: string) => ({
  text,
  language: 'en',
  entities: [],
  topics: ['plans'],
  sentiment: 0.2,
});

/** interactionsApi.register(): `audio` (audio.wav, audio/wav), client_id, session_token?, chunk_*_ms. */
const register = (
  opts: { token?: string; clientId: string; sessionToken?: string },
  chunk = { start: 1200, end: 3400 },
) =>
  api.post(
    '/api/v1/interactions/register',
    multipart({
      audio: { filename: 'audio.wav', content: fixture('speech-8k-u8.wav'), mimetype: 'audio/wav' },
      client_id: opts.clientId,
      ...(opts.sessionToken ? { session_token: opts.sessionToken } : {}),
      chunk_start_ms: String(chunk.start),
      chunk_end_ms: String(chunk.end),
    }),
    opts.token ? { token: opts.token } : {},
  );

let emails = 0;
/** authApi.register(): only email and password. */
async function signUp() {
  const email = `gen4-${++emails}-${Date.now()}@example.com`;
  const res = await api.post('/api/v1/auth/register', { email, password: 'a good long password' });
  expect(res.status).toBe(201);
  return {
    email,
    access: res.body.access_token,
    refresh: res.body.refresh_token,
    networkId: res.body.network_id,
    userId: res.body.user.id,
  };
}

/** The greeting every socket opens with: session_ready, then service_status. */
async function greeting(socket: AppSocket) {
  const ready = await socket.next();
  const status = await socket.next();
  expect(ready).toEqual({
    event: 'session_ready',
    session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    session_token: expect.any(String),
    client_id: expect.any(String),
    expires_in_seconds: expect.any(Number),
  });
  expect(status).toEqual({ event: 'service_status', enabled: expect.any(Boolean) });
  return { ready, status };
}

beforeAll(() => {
  mode = strictAuth();
  gemini.configure({ maxAttempts: 1 });
});
afterAll(() => {
  mode?.restore();
  process.env = savedEnv;
  resetConfig();
});

describe('the 4.x app', () => {
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
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    while ((await database.db.selectFrom('realtime_connections').select('connection_id').execute()).length) {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('signs up, opens the socket with a new client_id, uploads with session_token and hears the result', async () => {
    // Prepare: sign-up, then ServiceContext starts the realtime client with a generated name.
    const user = await signUp();
    const clientId = generateClientId();

    // Act
    const socket = await openSocket(user.access, clientId);
    const { ready, status } = await greeting(socket);
    fake.enqueue(reply.json(enrichment('Let us plan the trip on Friday')));
    const uploaded = await register({
      token: user.access,
      clientId: ready.client_id,
      sessionToken: ready.session_token,
    });

    // Assess: the socket registered the client (no POST P/service/clients), the upload is a 204 and the
    // interaction and its new conversation follow on the socket.
    expect(ready.client_id).toBe(clientId);
    expect(status.enabled).toBe(true);
    const clients = await api.get('/api/v1/service/clients', { token: user.access });
    expect(clients.body).toEqual([clientId]);
    expect(uploaded.status).toBe(204);
    const interaction = await socket.next((m) => m.event === 'interaction');
    expect(interaction.data).toMatchObject({
      text: 'Let us plan the trip on Friday',
      client_id: clientId,
      network_id: user.networkId,
      conversation_id: expect.any(String),
    });
    const conversation = await socket.next((m) => m.event === 'conversation');
    expect(conversation.data).toMatchObject({
      id: interaction.data.conversation_id,
      is_active: true,
      started_at: expect.any(String),
      topic_summary: null,
      context_summary: null,
    });
    const fetched = await api.get(`/api/v1/conversations/${conversation.data.id}`, { token: user.access });
    expect(conversation.data).toEqual(fetched.body);
  });

  it('accepts the session_token alone, and refuses a stale or foreign one with 401', async () => {
    const user = await signUp();
    const other = await signUp();
    const socket = await openSocket(user.access, generateClientId());
    const { ready } = await greeting(socket);

    fake.enqueue(reply.json(enrichment('Only the session token')));
    const alone = await register({ clientId: ready.client_id, sessionToken: ready.session_token });
    // Register v2: the 204 comes once the upload is accepted; the interaction follows on the socket, so it
    // is awaited before the socket closes.
    expect(alone.status).toBe(204);
    await socket.next((m) => m.event === 'interaction');
    const foreign = await register({
      token: other.access,
      clientId: ready.client_id,
      sessionToken: ready.session_token,
    });
    const wrongClient = await register({
      token: user.access,
      clientId: 'someone-else',
      sessionToken: ready.session_token,
    });
    const forged = await register({ clientId: ready.client_id, sessionToken: `${ready.session_token}x` });
    socket.ws.close(1000);
    await socket.closed;
    // The session ends with its socket (the server forgets it on close).
    let stale;
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    do stale = await register({ clientId: ready.client_id, sessionToken: ready.session_token });
    while (stale.status !== 401 && Date.now() < deadline);

    for (const res of [foreign, wrongClient, forged, stale]) expectError(res, 401, 'INVALID_SESSION_TOKEN');
  });

  it('re-attaches its own client name, and gives a name another device of the network holds a suffix', async () => {
    // Prepare: the owner's device, and a second member of the owner's network.
    const owner = await signUp();
    const member = await signUp();
    const added = await api.post(
      `/api/v1/${owner.networkId}/members`,
      { email: member.email },
      { token: owner.access },
    );
    expect(added.status).toBe(201);
    const clientId = generateClientId();

    // Act: the owner's device opens twice (a reconnect); the member's device asks for the same name.
    const first = await greeting(await openSocket(owner.access, clientId));
    const again = await greeting(await openSocket(owner.access, clientId));
    const theirs = await greeting(await openSocket(member.access, clientId, '/api/v1', owner.networkId));
    const theirsAgain = await greeting(await openSocket(member.access, clientId, '/api/v1', owner.networkId));

    // Assess
    expect(first.ready.client_id).toBe(clientId);
    expect(again.ready.client_id).toBe(clientId);
    expect(theirs.ready.client_id).toBe(`${clientId}-2`);
    expect(theirsAgain.ready.client_id).toBe(`${clientId}-2`);
    const clients = await api.get('/api/v1/service/clients', { token: owner.access });
    expect(clients.body).toEqual([clientId, `${clientId}-2`]);
  });

  it('reads the account (AuthContext.refreshUser) and stays signed in through 4 parallel refreshes', async () => {
    // Prepare: the access token expired under four queries at once; each one's 401 sends a refresh.
    const user = await signUp();
    const me = await api.get('/api/v1/auth/me', { token: user.access });

    // Act
    const refreshed = await Promise.all(
      Array.from({ length: 4 }, () => api.post('/api/v1/auth/refresh', { refresh_token: user.refresh })),
    );
    const retried = await Promise.all(
      refreshed.map((r) => api.get('/api/v1/auth/me', { token: r.body.access_token })),
    );

    // Assess
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: user.userId,
      email: user.email,
      username: null,
      has_password: true,
      created_at: expect.any(String),
    });
    expect(refreshed.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(retried.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const again = await api.post('/api/v1/auth/refresh', { refresh_token: refreshed[3].body.refresh_token });
    expect(again.status).toBe(200);
  });

  it('answers pings with pongs on v1 and v2 (the app counts them as inbound messages)', async () => {
    const user = await signUp();
    for (const prefix of ['/api/v1', '/api/v2']) {
      const socket = await openSocket(user.access, generateClientId(), prefix);
      await greeting(socket);
      socket.ws.send(JSON.stringify({ type: 'ping' }));
      expect(await socket.next()).toEqual({ type: 'pong' });
    }
  });

  it('reports service_status false on open when the network is disabled', async () => {
    const user = await signUp();
    expect(
      (await api.patch('/api/v1/service/network/disable', undefined, { token: user.access })).status,
    ).toBe(200);
    const { status } = await greeting(await openSocket(user.access, generateClientId()));
    expect(status).toEqual({ event: 'service_status', enabled: false });
  });
});
