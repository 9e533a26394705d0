import { advisoryLock, inTransaction, type Executor } from '../transaction';
import { sql } from 'kysely';
import type { Db } from '../client';
import type { JsonObject, Network, NetworkClient } from '../types';

export const findNetwork = (db: Executor, id: string): Promise<Network | undefined> =>
  db.selectFrom('networks').selectAll().where('id', '=', id).executeTakeFirst();

export const createNetwork = (db: Executor, name: string, settings: JsonObject = {}): Promise<Network> =>
  db
    .insertInto('networks')
    .values({ name, settings: JSON.stringify(settings) })
    .returningAll()
    .executeTakeFirstOrThrow();

export const setServiceEnabled = (db: Executor, id: string, enabled: boolean): Promise<Network | undefined> =>
  db
    .updateTable('networks')
    .set({ service_enabled: enabled, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();

export const listClients = (db: Executor, networkId: string): Promise<NetworkClient[]> =>
  db
    .selectFrom('network_clients')
    .selectAll()
    .where('network_id', '=', networkId)
    .orderBy('connected_at')
    .orderBy('client_id')
    .execute();

export const findClient = (
  db: Executor,
  networkId: string,
  clientId: string,
): Promise<NetworkClient | undefined> =>
  db
    .selectFrom('network_clients')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();

export interface ClientAddresses {
  local_ip_address?: string | null;
  external_ip_address?: string | null;
}

/** Register or refresh a client; idempotent, so a device may call it on every start. */
export const upsertClient = (
  db: Executor,
  networkId: string,
  clientId: string,
  addresses: ClientAddresses = {},
): Promise<NetworkClient> =>
  db
    .insertInto('network_clients')
    .values({
      network_id: networkId,
      client_id: clientId,
      metadata: '{}',
      local_ip_address: addresses.local_ip_address ?? null,
      external_ip_address: addresses.external_ip_address ?? null,
    })
    .onConflict((oc) =>
      oc.columns(['network_id', 'client_id']).doUpdateSet({
        last_seen_at: sql<Date>`now()`,
        local_ip_address: sql<string>`coalesce(excluded.local_ip_address, network_clients.local_ip_address)`,
        external_ip_address: sql<string>`coalesce(excluded.external_ip_address, network_clients.external_ip_address)`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();

/** Create a client (registered by `userId` when a user asks); undefined when the name is taken in this network. */
export const insertClient = (
  db: Executor,
  networkId: string,
  clientId: string,
  metadata: JsonObject,
  userId?: string,
): Promise<NetworkClient | undefined> =>
  db
    .insertInto('network_clients')
    .values({
      network_id: networkId,
      client_id: clientId,
      metadata: JSON.stringify(metadata),
      user_id: userId ?? null,
    })
    .onConflict((oc) => oc.columns(['network_id', 'client_id']).doNothing())
    .returningAll()
    .executeTakeFirst();

export const deleteClient = async (db: Executor, networkId: string, clientId: string): Promise<boolean> => {
  const result = await db
    .deleteFrom('network_clients')
    .where('network_id', '=', networkId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
};

export const setClientEnabled = async (
  db: Executor,
  networkId: string,
  clientId: string,
  enabled: boolean,
): Promise<boolean> => {
  const result = await db
    .updateTable('network_clients')
    .set({ enabled })
    .where('network_id', '=', networkId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
};

export type RenameOutcome =
  { kind: 'renamed'; client: NetworkClient } | { kind: 'not_found' } | { kind: 'taken' };

/**
 * Rename a client in one transaction: the stream-quality row follows by ON UPDATE CASCADE, and the
 * client's past interactions keep pointing at it.
 */
export async function renameClient(
  db: Db,
  networkId: string,
  from: string,
  to: string,
): Promise<RenameOutcome> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('network_clients')
      .select('id')
      .where('network_id', '=', networkId)
      .where('client_id', '=', from)
      .forUpdate()
      .executeTakeFirst();
    if (!current) return { kind: 'not_found' };
    if (from !== to && (await findClient(trx, networkId, to))) return { kind: 'taken' };
    const client = await trx
      .updateTable('network_clients')
      .set({ client_id: to, last_seen_at: sql<Date>`now()` })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('interactions')
      .set({ client_id: to })
      .where('network_id', '=', networkId)
      .where('client_id', '=', from)
      .execute();
    return { kind: 'renamed', client };
  });
}

/** Postgres unique violation, for races the pre-checks cannot close. */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string })?.code === '23505';

/** `name` with the suffix `-n`, cut so that the whole stays within the 64 characters of a client id. */
export const suffixedClientName = (name: string, n: number): string => {
  const suffix = `-${n}`;
  return `${[...name]
    .slice(0, 64 - suffix.length)
    .join('')
    .trimEnd()}${suffix}`;
};

/**
 * The client a realtime socket opens as: `wanted` itself when it is free (created, registered by `userId`)
 * or already this user's (re-attached; also a client that no user registered, as 1.x desktops and
 * network-scoped devices made them); otherwise the first free `wanted-2`, `wanted-3`... Under a per-network
 * lock, so two sockets asking for one name at once do not both get it.
 */
export const attachSocketClient = (
  db: Executor,
  networkId: string,
  wanted: string,
  userId: string | undefined,
): Promise<NetworkClient> =>
  inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'clientNames', networkId);
    for (let n = 1; ; n++) {
      const name = n === 1 ? wanted : suffixedClientName(wanted, n);
      const existing = await findClient(trx, networkId, name);
      if (!existing) {
        return trx
          .insertInto('network_clients')
          .values({ network_id: networkId, client_id: name, metadata: '{}', user_id: userId ?? null })
          .returningAll()
          .executeTakeFirstOrThrow();
      }
      if (!userId || existing.user_id === null || existing.user_id === userId) {
        return trx
          .updateTable('network_clients')
          .set({ last_seen_at: sql<Date>`now()` })
          .where('id', '=', existing.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      }
    }
  });

/** The first of `client1`, `client2`... that is free in the network, created (POST P/service/clients without a name). */
export const insertNumberedClient = (
  db: Executor,
  networkId: string,
  metadata: JsonObject,
  userId?: string,
): Promise<NetworkClient> =>
  inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'clientNames', networkId);
    const taken = new Set(
      (
        await trx
          .selectFrom('network_clients')
          .select('client_id')
          .where('network_id', '=', networkId)
          .where('client_id', '~', '^client[0-9]+$')
          .execute()
      ).map((r) => r.client_id),
    );
    let n = 1;
    while (taken.has(`client${n}`)) n++;
    return trx
      .insertInto('network_clients')
      .values({
        network_id: networkId,
        client_id: `client${n}`,
        metadata: JSON.stringify(metadata),
        user_id: userId ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });

/** Deletes networks with everything in them (every table of a network cascades from it). */
export const deleteNetworks = (db: Executor, networkIds: string[]) =>
  networkIds.length ? db.deleteFrom('networks').where('id', 'in', networkIds).execute() : Promise.resolve([]);

/**
 * Sets some of a network's settings (a null value removes the key), keeping the others; one statement,
 * so concurrent changes of different keys both survive.
 */
export const mergeNetworkSettings = (
  db: Executor,
  id: string,
  changes: JsonObject,
): Promise<Network | undefined> => {
  const removed = Object.keys(changes).filter((k) => changes[k] === null);
  const set = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== null));
  return db
    .updateTable('networks')
    .set({
      settings: sql`(settings || ${JSON.stringify(set)}::jsonb) - ${sql.val(removed)}::text[]`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
};
