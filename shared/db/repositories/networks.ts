import type { Executor } from '../transaction';
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

/** Create a client; undefined when the name is taken in this network. */
export const insertClient = (
  db: Executor,
  networkId: string,
  clientId: string,
  metadata: JsonObject,
): Promise<NetworkClient | undefined> =>
  db
    .insertInto('network_clients')
    .values({ network_id: networkId, client_id: clientId, metadata: JSON.stringify(metadata) })
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
