import type { Executor } from '../transaction';
import { sql } from 'kysely';
import type { User } from '../types';

export const findUserById = (db: Executor, id: string): Promise<User | undefined> =>
  db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();

export const findUserByEmail = (db: Executor, email: string): Promise<User | undefined> =>
  db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst();

/** By email or username, case-insensitively, as login accepts either. */
export const findUserByLogin = (db: Executor, identifier: string): Promise<User | undefined> => {
  const value = identifier.trim().toLowerCase();
  return db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb.or([eb(sql`lower(email)`, '=', value), eb(sql`lower(username)`, '=', value)]))
    .executeTakeFirst();
};

export const findUserByProvider = (
  db: Executor,
  provider: 'google' | 'github',
  subject: string,
): Promise<User | undefined> =>
  db
    .selectFrom('users')
    .selectAll()
    .where(provider === 'google' ? 'google_subject' : 'github_id', '=', subject)
    .executeTakeFirst();

export interface NewUserInput {
  email: string;
  username?: string | null;
  passwordHash?: string | null;
  emailVerified?: boolean;
  googleSubject?: string | null;
  githubId?: string | null;
}

export const insertUser = (db: Executor, input: NewUserInput): Promise<User> =>
  db
    .insertInto('users')
    .values({
      email: input.email.trim(),
      username: input.username ?? null,
      password_hash: input.passwordHash ?? null,
      email_verified: input.emailVerified ?? false,
      google_subject: input.googleSubject ?? null,
      github_id: input.githubId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

/**
 * Link a provider identity to an account whose email the provider verified. An account registered with a
 * password but never verified loses that password: whoever set it may not own the address (pre-hijacking).
 */
export const linkProvider = (
  db: Executor,
  user: User,
  provider: 'google' | 'github',
  subject: string,
): Promise<User> =>
  db
    .updateTable('users')
    .set({
      ...(provider === 'google' ? { google_subject: subject } : { github_id: subject }),
      email_verified: true,
      password_hash: user.email_verified ? user.password_hash : null,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', user.id)
    .returningAll()
    .executeTakeFirstOrThrow();

/** The networks whose only owner is this user (deleting the account deletes them). */
export const soleOwnedNetworkIds = async (db: Executor, userId: string): Promise<string[]> =>
  (
    await db
      .selectFrom('network_members as m')
      .select('m.network_id')
      .where('m.user_id', '=', userId)
      .where('m.role', '=', 'owner')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('network_members as o')
              .select('o.user_id')
              .whereRef('o.network_id', '=', 'm.network_id')
              .where('o.role', '=', 'owner')
              .where('o.user_id', '<>', userId),
          ),
        ),
      )
      .forUpdate()
      .execute()
  ).map((row) => row.network_id);

/**
 * Deletes the user: their memberships, API keys' authorship, refresh tokens and sockets go with them
 * (foreign keys), and their failed-login rows by account key.
 */
export async function deleteUser(db: Executor, userId: string, accountThrottleKey: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('throttle_key', '=', accountThrottleKey).execute();
  await db.deleteFrom('users').where('id', '=', userId).execute();
}
