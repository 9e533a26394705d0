import { inTransaction, type Executor } from '../transaction';
import { createNetwork } from './networks';

export type MemberRole = 'owner' | 'member';

export const addMember = (db: Executor, networkId: string, userId: string, role: MemberRole) =>
  db
    .insertInto('network_members')
    .values({ network_id: networkId, user_id: userId, role })
    .onConflict((oc) => oc.columns(['network_id', 'user_id']).doNothing())
    .returningAll()
    .executeTakeFirst();

export const findRole = async (
  db: Executor,
  networkId: string,
  userId: string,
): Promise<MemberRole | undefined> =>
  (
    await db
      .selectFrom('network_members')
      .select('role')
      .where('network_id', '=', networkId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
  )?.role;

/** The user's own network: the first one they own. */
export const findOwnNetworkId = async (db: Executor, userId: string): Promise<string | undefined> =>
  (
    await db
      .selectFrom('network_members')
      .select('network_id')
      .where('user_id', '=', userId)
      .where('role', '=', 'owner')
      .orderBy('created_at')
      .orderBy('network_id')
      .limit(1)
      .executeTakeFirst()
  )?.network_id;

export const listMembers = (db: Executor, networkId: string) =>
  db
    .selectFrom('network_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.username', 'm.role', 'm.created_at'])
    .where('m.network_id', '=', networkId)
    .orderBy('m.created_at')
    .orderBy('u.email')
    .execute();

/** The owners' ids, their rows locked so two owners cannot remove each other at once. */
export const lockOwners = async (db: Executor, networkId: string): Promise<string[]> =>
  (
    await db
      .selectFrom('network_members')
      .select('user_id')
      .where('network_id', '=', networkId)
      .where('role', '=', 'owner')
      .forUpdate()
      .execute()
  ).map((r) => r.user_id);

export const removeMember = async (db: Executor, networkId: string, userId: string): Promise<boolean> =>
  (
    await db
      .deleteFrom('network_members')
      .where('network_id', '=', networkId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
  ).numDeletedRows > 0n;

/** A new network with its owner, in one transaction (or inside the caller's). */
export const createNetworkOwnedBy = (db: Executor, name: string, userId: string) =>
  inTransaction(db, async (trx) => {
    const network = await createNetwork(trx, name);
    await addMember(trx, network.id, userId, 'owner');
    return network;
  });
