import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contexts } from '../../../functions/contexts';
import type { RouteDefinition } from '../../../shared/http/route';
import { type Account, createApiKey, registerAccount, strictAuth } from '../../helpers/auth';
import { useTestDatabase } from '../../helpers/db';
import { createTestApi, type TestResponse } from '../../helpers/http';

/**
 * The tenancy matrix: every network-scoped route of every context (read from functions/contexts.ts, so
 * routes added later are covered without touching this file), in both path forms and both API versions,
 * called with network A's credentials on network B. Each must answer 403 or 404 and show nothing of B.
 */
const database = useTestDatabase({ clearBetweenTests: false });
const api = createTestApi();
let mode: ReturnType<typeof strictAuth>;

const SECRET_CLIENT = 'b-secret-client';
const SECRET_TEXT = 'B-SECRET-WORDS';

let a: Account;
let b: Account;
let aKey: string;
let bIds: Record<string, string>;

const scopedRoutes: Array<{ context: string; route: RouteDefinition }> = contexts.flatMap((c) =>
  c.routes.filter((route) => route.scope === 'scoped').map((route) => ({ context: c.name, route })),
);
const label = ({ context, route }: { context: string; route: RouteDefinition }) =>
  `${context}: ${route.method} P${route.path}`;

/** Real ids of B's rows where the parameter names one, a random UUID for other ids, a plain name otherwise. */
const fillPath = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_m, name: string) =>
    encodeURIComponent(bIds[name] ?? (name.endsWith('_id') ? randomUUID() : 'x')),
  );

const send = (route: RouteDefinition, path: string, headers: Record<string, string>) =>
  api.request(route.method, path, {
    headers,
    body: ['POST', 'PUT', 'PATCH'].includes(route.method)
      ? { name: 'x', client_id: 'x', email: b?.email, status: 'done', text: 'x' }
      : undefined,
  });

const withoutPathEcho = (text: string, path: string) =>
  path
    .split('/')
    .filter(Boolean)
    .reduce((rest, segment) => rest.split(decodeURIComponent(segment)).join(''), text);

const expectNothingOfB = (res: TestResponse) => {
  expect(res.text).not.toContain(b.networkId);
  expect(res.text).not.toContain(SECRET_CLIENT);
  expect(res.text).not.toContain(SECRET_TEXT);
  expect(res.text).not.toContain(b.email);
};

const expectRefused = (res: TestResponse) => {
  expect([403, 404]).toContain(res.status);
  expect(res.body).toEqual({
    detail: expect.any(String),
    error_code: expect.any(String),
    timestamp: expect.any(String),
  });
  expectNothingOfB(res);
};

beforeAll(async () => {
  mode = strictAuth();
  a = await registerAccount(api, 'alice');
  b = await registerAccount(api, 'bob');
  aKey = (await createApiKey(api, a, 'alice-device')).key;
  const bKey = await createApiKey(api, b, 'bob-device');
  const db = database.db;
  await db
    .insertInto('network_clients')
    .values({ network_id: b.networkId, client_id: SECRET_CLIENT, metadata: '{}' })
    .execute();
  const person = await db
    .insertInto('persons')
    .values({ network_id: b.networkId, name: SECRET_TEXT, index: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const conversation = await db
    .insertInto('conversations')
    .values({ network_id: b.networkId, title: SECRET_TEXT, topics: '[]' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const interaction = await db
    .insertInto('interactions')
    .values({
      network_id: b.networkId,
      interaction_type: 'text',
      text: SECRET_TEXT,
      client_id: SECRET_CLIENT,
      conversation_id: conversation.id,
      entities: '[]',
      topics: '[]',
      metadata: '{}',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const action = await db
    .insertInto('actions')
    .values({
      network_id: b.networkId,
      action_type: 'remind',
      details: JSON.stringify({ text: SECRET_TEXT }),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  bIds = {
    client_id: SECRET_CLIENT,
    person_id: person.id,
    conversation_id: conversation.id,
    interaction_id: interaction.id,
    action_id: action.id,
    key_id: bKey.id,
    user_id: b.userId,
  };
});
afterAll(() => mode.restore());

describe('tenant isolation across every scoped route', () => {
  it('covers routes of every context that has scoped routes', () => {
    expect(scopedRoutes.length).toBeGreaterThan(10);
    expect(new Set(scopedRoutes.map((r) => r.context))).toEqual(
      new Set(contexts.filter((c) => c.routes.some((r) => r.scope === 'scoped')).map((c) => c.name)),
    );
  });

  it.each(scopedRoutes.map((entry) => [label(entry), entry] as const))(
    '%s refuses network A credentials on network B',
    async (_label, { route }) => {
      const path = fillPath(route.path);
      for (const version of ['v1', 'v2']) {
        const attempts = [
          send(route, `/api/${version}/${b.networkId}${path}`, { authorization: `Bearer ${a.accessToken}` }),
          send(route, `/api/${version}/${b.networkId}${path}`, { authorization: `Bearer ${aKey}` }),
          send(route, `/api/${version}/${b.networkId}${path}`, { 'x-api-key': aKey }),
          send(route, `/api/${version}${path}`, {
            authorization: `Bearer ${a.accessToken}`,
            'x-network-id': b.networkId,
          }),
          send(route, `/api/${version}${path}`, { 'x-api-key': aKey, 'x-network-id': b.networkId }),
        ];
        for (const res of await Promise.all(attempts)) expectRefused(res);

        const anonymous = await Promise.all([
          send(route, `/api/${version}/${b.networkId}${path}`, {}),
          send(route, `/api/${version}${path}`, { 'x-network-id': b.networkId }),
        ]);
        for (const res of anonymous) {
          expect(res.status).toBe(401);
          expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
          expectNothingOfB(res);
        }
      }
    },
  );

  it.each(
    scopedRoutes.filter(({ route }) => route.method === 'GET').map((entry) => [label(entry), entry] as const),
  )('%s serves A its own network and nothing of B', async (_label, { route }) => {
    const path = fillPath(route.path);
    const results = await Promise.all([
      api.get(`/api/v1/${a.networkId}${path}`, { token: a.accessToken }),
      api.get(`/api/v2${path}`, { token: a.accessToken }),
    ]);
    for (const res of results) {
      // The credentials work (so the refusals above are about the network, not broken credentials).
      expect([401, 403]).not.toContain(res.status);
      // A 404 may repeat the name A itself put in the path ("Client x is not registered"); that is A's
      // own input, not B's data, so it is taken out before looking for B.
      expectNothingOfB({ ...res, text: withoutPathEcho(res.text, path) });
    }
  });

  const namesBRow = ({ route }: { route: RouteDefinition }) =>
    [...route.path.matchAll(/\{(\w+)\}/g)].some(([, name]) => name !== 'client_id' && name.endsWith('_id'));

  it.each(scopedRoutes.filter(namesBRow).map((entry) => [label(entry), entry] as const))(
    "%s does not reach B's rows by id from A's own network",
    async (_label, { route }) => {
      const path = fillPath(route.path);
      const results = await Promise.all([
        send(route, `/api/v1/${a.networkId}${path}`, { authorization: `Bearer ${a.accessToken}` }),
        send(route, `/api/v2${path}`, { 'x-api-key': aKey }),
      ]);
      for (const res of results) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectNothingOfB(res);
      }
    },
  );

  it("leaves B's data untouched after the whole matrix", async () => {
    const clients = await database.db
      .selectFrom('network_clients')
      .select('client_id')
      .where('network_id', '=', b.networkId)
      .execute();
    expect(clients.map((c) => c.client_id)).toContain(SECRET_CLIENT);
    const keys = await database.db
      .selectFrom('network_api_keys')
      .select('revoked_at')
      .where('network_id', '=', b.networkId)
      .execute();
    expect(keys.every((k) => k.revoked_at === null)).toBe(true);
    const members = await database.db
      .selectFrom('network_members')
      .select('user_id')
      .where('network_id', '=', b.networkId)
      .execute();
    expect(members.map((m) => m.user_id)).toEqual([b.userId]);
    const network = await database.db
      .selectFrom('networks')
      .select('service_enabled')
      .where('id', '=', b.networkId)
      .executeTakeFirstOrThrow();
    expect(network.service_enabled).toBe(true);
    for (const table of ['persons', 'conversations', 'interactions', 'actions'] as const) {
      expect(
        await database.db.selectFrom(table).select('id').where('network_id', '=', b.networkId).execute(),
      ).toHaveLength(1);
    }
  });
});
