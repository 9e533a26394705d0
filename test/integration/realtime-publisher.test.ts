import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { resetConfig } from '../../shared/config';
import { createNetwork } from '../../shared/db/repositories/networks';
import { addMember } from '../../shared/db/repositories/members';
import { addRealtimeConnection } from '../../shared/db/repositories/realtime';
import {
  publishToNetwork,
  setLocalRealtimeTransport,
  type RealtimeEvent,
} from '../../shared/realtime/publisher';
import { sdkAuthorization } from '../helpers/aws-signature';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

/**
 * A loopback stand-in for API Gateway's management API (`POST /{stage}/@connections/{id}`): it records
 * what it receives and answers 410 Gone for connections it is told are gone.
 */
interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}
let server: Server;
let received: Received[] = [];
let gone = new Set<string>();
let failing = new Set<string>();
let callbackUrl: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({ path, headers: request.headers as Record<string, string>, body });
      const connectionId = decodeURIComponent(path.split('/@connections/')[1] ?? '');
      response.statusCode = gone.has(connectionId) ? 410 : failing.has(connectionId) ? 500 : 200;
      response.end(response.statusCode === 200 ? '' : '{"message":"nope"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  callbackUrl = `http://127.0.0.1:${port}/ws`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

let networkId: string;
let otherNetworkId: string;
/** A member of both networks: the sockets below are theirs unless a test says otherwise. */
let userId: string;

beforeEach(async () => {
  received = [];
  gone = new Set();
  failing = new Set();
  Object.assign(process.env, {
    REALTIME_CALLBACK_URL: callbackUrl,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    AWS_SESSION_TOKEN: 'session-token',
  });
  resetConfig();
  networkId = (await createNetwork(database.db, 'Home')).id;
  otherNetworkId = (await createNetwork(database.db, 'Neighbours')).id;
  userId = (
    await database.db
      .insertInto('users')
      .values({ email: 'member@realtime.test' })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  for (const id of [networkId, otherNetworkId]) await addMember(database.db, id, userId, 'member');
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  resetConfig();
  setLocalRealtimeTransport(undefined);
});

const connect = (
  connectionId: string,
  network = networkId,
  who: { userId?: string; apiKeyId?: string } = { userId },
) =>
  addRealtimeConnection(database.db, {
    connectionId,
    networkId: network,
    clientId: `client-${connectionId}`,
    ...who,
  });
const connectionIds = async () =>
  (await database.db.selectFrom('realtime_connections').select('connection_id').execute())
    .map((r) => r.connection_id)
    .sort();

const event: RealtimeEvent = { event: 'service_status', enabled: false };

describe('publishing realtime events through API Gateway', () => {
  it("posts the event to every socket of the network, and to no other network's", async () => {
    await connect('A1=');
    await connect('A2=');
    await connect('B1=', otherNetworkId);

    await publishToNetwork(database.db, networkId, event);

    expect(received.map((r) => decodeURIComponent(r.path)).sort()).toEqual([
      '/ws/@connections/A1=',
      '/ws/@connections/A2=',
    ]);
    for (const request of received) expect(JSON.parse(request.body)).toEqual(event);
  });

  it('signs each post exactly as the AWS SDK signer does for execute-api', async () => {
    await connect('L0SM9cOFvHcCIhw=');

    await publishToNetwork(database.db, networkId, event);

    const [request] = received;
    const expected = await sdkAuthorization(request, 'execute-api', [
      'host',
      'content-length',
      'content-type',
    ]);
    expect(request.headers.authorization).toBe(expected);
    expect(request.headers['x-amz-security-token']).toBe('session-token');
  });

  it('forgets a socket API Gateway says is gone, and keeps the others', async () => {
    await connect('alive=');
    await connect('gone=');
    gone.add('gone=');

    await publishToNetwork(database.db, networkId, event);

    expect(await connectionIds()).toEqual(['alive=']);
  });

  it('never fails the caller: a failing socket is logged and kept for the next event', async () => {
    await connect('flaky=');
    failing.add('flaky=');

    await expect(publishToNetwork(database.db, networkId, event)).resolves.toBeUndefined();

    expect(await connectionIds()).toEqual(['flaky=']);
  });

  it('stops sending to a member removed from the network, a disabled user and a revoked API key', async () => {
    const key = await database.db
      .insertInto('network_api_keys')
      .values({ network_id: networkId, name: 'hub', prefix: 'mk_test', key_hash: 'hash' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const other = (
      await database.db
        .insertInto('users')
        .values({ email: 'other@realtime.test' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    await addMember(database.db, networkId, other, 'member');
    await connect('member=');
    await connect('removed=', networkId, { userId: other });
    await connect('key=', networkId, { apiKeyId: key.id });
    await publishToNetwork(database.db, networkId, event);
    expect(received).toHaveLength(3);

    await database.db.deleteFrom('network_members').where('user_id', '=', other).execute();
    await database.db.updateTable('network_api_keys').set({ revoked_at: new Date() }).execute();
    await database.db.updateTable('users').set({ is_active: false }).where('id', '=', userId).execute();
    received = [];
    await publishToNetwork(database.db, networkId, event);

    expect(received).toEqual([]);
  });

  it('never fails the caller when API Gateway cannot be reached', async () => {
    process.env.REALTIME_CALLBACK_URL = 'http://127.0.0.1:9/ws';
    resetConfig();
    await connect('A1=');

    await expect(publishToNetwork(database.db, networkId, event)).resolves.toBeUndefined();
  });

  it('sends nothing, and reads nothing, where no realtime endpoint is configured', async () => {
    delete process.env.REALTIME_CALLBACK_URL;
    resetConfig();
    await connect('A1=');

    await publishToNetwork(database.db, networkId, event);

    expect(received).toEqual([]);
  });
});
