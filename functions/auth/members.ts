import type { Db } from '../../shared/db/client';
import {
  addMember,
  findRole,
  lockOwners,
  removeMember,
  type MemberRole,
} from '../../shared/db/repositories/members';
import { findUserByEmail } from '../../shared/db/repositories/users';
import { inTransaction } from '../../shared/db/transaction';
import { httpError } from '../../shared/errors';

/** Adds a registered user to the network by email; 404 when no account has it, 409 when already in. */
export async function addNetworkMember(db: Db, networkId: string, email: string, role: MemberRole) {
  const user = await findUserByEmail(db, email);
  if (!user) throw httpError('USER_NOT_FOUND');
  const member = await addMember(db, networkId, user.id, role);
  if (!member) throw httpError('ALREADY_MEMBER');
  return { ...member, email: user.email, username: user.username };
}

/**
 * Removes a member; the last owner cannot go. The owners' rows are locked first, so two owners removing
 * each other at once cannot leave the network without one.
 */
export const removeNetworkMember = (db: Db, networkId: string, userId: string): Promise<void> =>
  inTransaction(db, async (trx) => {
    const role = await findRole(trx, networkId, userId);
    if (!role) throw httpError('MEMBER_NOT_FOUND');
    if (role === 'owner' && (await lockOwners(trx, networkId)).length <= 1) throw httpError('LAST_OWNER');
    await removeMember(trx, networkId, userId);
  });
