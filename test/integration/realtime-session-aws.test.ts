import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { Context } from 'aws-lambda';
import { closeCodeForRefusal, handler, type GreetingEvent } from '../../functions/realtime/handler';
import { signAccessToken } from '../../shared/auth/tokens';
import { resetConfig } from '../../shared/config';
import { createNetworkOwnedBy } from '../../shared/db/repositories/members';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

/**
 * The realtime session as it runs behind API Gateway's WebSocket API, with a loopback stand-in for both
 * AWS APIs it calls: Lambda's Invoke (its own asynchronous call) and the management API's
 * PostToConnection, which answers 410 while the socket is still opening, as API Gateway does until
 * `$connect` has answered.
 */
interface Received {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}
let server: Server;
let received: Received[] = [];
let opening = 0;
let endpoint: string;
const savedEnv = { ...process.env };
const context = { awsRequestId: 'test', functionName: 'mira-dev-realtime' } as Context;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({
        path,
        method: request.method ?? '',
        headers: request.headers as Record<string, string>,
        body,
      });
      if (path.includes('/invocations')) response.statusCode = 202;
      else response.statusCode = opening-- > 0 ? 410 : 200;
      response.end(response.statusCode === 410 ? '{"message":"gone"}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  process.env = savedEnv;
  resetConfig();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  Object.assign(process.env, {
    AWS_LAMBDA_FUNCTION_NAME: 'mira-dev-realtime',
    AWS_LAMBDA_ENDPOINT_URL: endpoint,
    REALTIME_CALLBACK_URL: `${endpoint}/ws`,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    JWT_SECRET: 'a-test-secret-of-enough-length-for-hs256',
  });
  resetConfig();
});

describe('the realtime session behind API Gateway', () => {
  it('greets the socket once it is open: $connect invokes itself, which posts session_ready then service_status', async () => {
    // Prepare
    const user = await database.db
      .insertInto('users')
      .values({ email: 'aws@realtime.test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const network = await createNetworkOwnedBy(database.db, 'Home', user.id);
    const token = await signAccessToken(user.id);
    opening = 2;

    // Act: API Gateway's $connect, then Lambda's asynchronous run of what it invoked.
    const connected = await handler(
      {
        requestContext: {
          routeKey: '$connect',
          connectionId: 'conn-1=',
          domainName: 'abc.execute-api.eu-west-1.amazonaws.com',
          stage: 'ws',
        },
        queryStringParameters: { token, client_id: 'client-1a2b3c4d' },
      },
      context,
    );
    const invoke = received.find((r) => r.path.includes('/invocations'))!;
    const greeting = JSON.parse(invoke.body) as GreetingEvent;
    await handler(greeting, context);

    // Assess
    expect(connected.statusCode).toBe(200);
    expect(invoke.path).toBe('/2015-03-31/functions/mira-dev-realtime/invocations');
    expect(invoke.headers['x-amz-invocation-type']).toBe('Event');
    expect(invoke.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 .*\/eu-west-1\/lambda\/aws4_request/);
    const posts = received.filter((r) => r.path.startsWith('/ws/@connections/'));
    expect(posts.map((p) => p.path)).toEqual(
      Array(4).fill(`/ws/@connections/${encodeURIComponent('conn-1=')}`),
    );
    const delivered = posts.slice(2).map((p) => JSON.parse(p.body));
    expect(delivered).toEqual([
      {
        event: 'session_ready',
        session_id: expect.any(String),
        session_token: expect.any(String),
        client_id: 'client-1a2b3c4d',
        expires_in_seconds: 7200,
      },
      { event: 'service_status', enabled: true },
    ]);
    const client = await database.db
      .selectFrom('network_clients')
      .select(['client_id', 'user_id'])
      .where('network_id', '=', network.id)
      .execute();
    expect(client).toEqual([{ client_id: 'client-1a2b3c4d', user_id: user.id }]);
  });

  it('tells a socket with a bad token why, then closes it, and registers nothing', async () => {
    // Act: $connect with a token that is no JWT, then the asynchronous call it made.
    const connected = await handler(
      {
        requestContext: {
          routeKey: '$connect',
          connectionId: 'conn-2=',
          domainName: 'abc.execute-api.eu-west-1.amazonaws.com',
          stage: 'ws',
        },
        queryStringParameters: { token: 'not-a-jwt', client_id: 'client-1' },
      },
      context,
    );
    const invoke = received.find((r) => r.path.includes('/invocations'))!;
    await handler(JSON.parse(invoke.body) as GreetingEvent, context);

    // Assess: accepted (a refused handshake reaches a browser as 1006, which the 4.x app retries forever),
    // told the reason, then closed through the management API.
    expect(connected.statusCode).toBe(200);
    const calls = received.filter((r) => r.path.startsWith('/ws/@connections/'));
    expect(calls.map((c) => c.method)).toEqual(['POST', 'DELETE']);
    expect(JSON.parse(calls[0].body)).toMatchObject({
      event: 'error',
      data: { error_code: 'INVALID_TOKEN' },
    });
    expect(await database.db.selectFrom('realtime_connections').selectAll().execute()).toEqual([]);
    expect(await database.db.selectFrom('network_clients').selectAll().execute()).toEqual([]);
  });

  it('maps refusals to close codes; a server fault or a throttle stays an HTTP refusal to retry', () => {
    expect([401, 403, 422, 400, 429, 500, 503].map(closeCodeForRefusal)).toEqual([
      4001,
      4003,
      1008,
      1008,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
