import type { Executor } from '../transaction';
import { sql } from 'kysely';

// --- Network API keys ------------------------------------------------------------------------------------

export const insertApiKey = (
  db: Executor,
  input: { networkId: string; name: string; prefix: string; hash: string; createdBy: string | null },
) =>
  db
    .insertInto('network_api_keys')
    .values({
      network_id: input.networkId,
      name: input.name,
      prefix: input.prefix,
      key_hash: input.hash,
      created_by: input.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

/** An unrevoked key by its hash; revocation takes effect on the very next request. */
export const findActiveApiKey = (db: Executor, hash: string) =>
  db
    .selectFrom('network_api_keys')
    .select(['id', 'network_id', 'last_used_at'])
    .where('key_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();

/** Record use at most once a minute, so a busy device does not write on every request. */
export const touchApiKey = (db: Executor, id: string) =>
  db
    .updateTable('network_api_keys')
    .set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`),
      ]),
    )
    .execute();

export const listApiKeys = (db: Executor, networkId: string) =>
  db
    .selectFrom('network_api_keys')
    .select(['id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .where('network_id', '=', networkId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();

/** Revoke a key of this network; false when it has no such key. Revoking twice is harmless. */
export const revokeApiKey = async (db: Executor, networkId: string, id: string): Promise<boolean> =>
  (
    await db
      .updateTable('network_api_keys')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where('network_id', '=', networkId)
      .where('id', '=', id)
      .executeTakeFirst()
  ).numUpdatedRows > 0n;

// --- Refresh tokens --------------------------------------------------------------------------------------

export const insertRefreshToken = (
  db: Executor,
  input: { jti: string; familyId: string; userId: string; expiresAt: Date },
) =>
  db
    .insertInto('refresh_tokens')
    .values({ jti: input.jti, family_id: input.familyId, user_id: input.userId, expires_at: input.expiresAt })
    .execute();

/** Locks the row: two concurrent refreshes with one token must not both succeed. */
export const findRefreshTokenForUpdate = (db: Executor, jti: string, graceSeconds = 0) =>
  db
    .selectFrom('refresh_tokens')
    .selectAll()
    // Judged by the database's clock, which also wrote used_at.
    .select(
      sql<boolean>`used_at IS NOT NULL AND used_at > now() - make_interval(secs => ${graceSeconds})`.as(
        'in_grace',
      ),
    )
    .where('jti', '=', jti)
    .forUpdate()
    .executeTakeFirst();

export const markRefreshTokenUsed = (db: Executor, jti: string, successor?: string) =>
  db
    .updateTable('refresh_tokens')
    .set({ used_at: sql<Date>`now()`, successor: successor ?? null })
    .where('jti', '=', jti)
    .execute();

export const revokeRefreshFamily = (db: Executor, familyId: string) =>
  db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();

/** True once any token of the family was revoked (reuse detected, or all of a user's sessions ended). */
export const isRefreshFamilyRevoked = async (db: Executor, familyId: string): Promise<boolean> =>
  (await db
    .selectFrom('refresh_tokens')
    .select('jti')
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is not', null)
    .limit(1)
    .executeTakeFirst()) !== undefined;

export const revokeUserRefreshTokens = (db: Executor, userId: string) =>
  db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();

// --- Login attempts --------------------------------------------------------------------------------------

/** Failed attempts on these keys within the last `windowSeconds`. */
export const recentFailures = async (
  db: Executor,
  keys: string[],
  windowSeconds: number,
): Promise<Map<string, Date[]>> => {
  const rows = await db
    .selectFrom('login_attempts')
    .select(['throttle_key', 'attempted_at'])
    .where('throttle_key', 'in', keys)
    .where('attempted_at', '>', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
    .execute();
  const byKey = new Map<string, Date[]>(keys.map((k) => [k, []]));
  for (const row of rows) byKey.get(row.throttle_key)?.push(new Date(row.attempted_at));
  return byKey;
};

/** Records one attempt on each key; answers the new rows' ids (to forgive them later). */
export const recordAttempt = async (db: Executor, keys: string[]): Promise<string[]> =>
  (
    await db
      .insertInto('login_attempts')
      .values(keys.map((throttle_key) => ({ throttle_key })))
      .returning('id')
      .execute()
  ).map((row) => String(row.id));

/** Forgets attempts that turned out fine (a successful login is no failure of its IP). */
export const forgetAttempts = (db: Executor, ids: string[]) =>
  ids.length ? db.deleteFrom('login_attempts').where('id', 'in', ids).execute() : Promise.resolve([]);

/** Drops the keys' rows that have left the window (and, now and then, everyone's). */
export async function pruneAttempts(db: Executor, keys: string[], windowSeconds: number): Promise<void> {
  await db
    .deleteFrom('login_attempts')
    .where('throttle_key', 'in', keys)
    .where('attempted_at', '<', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
    .execute();
  if (Math.random() < 0.01) {
    await db
      .deleteFrom('login_attempts')
      .where('attempted_at', '<', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
      .execute();
  }
}

/** A successful login forgives the account's failures (not the IP's). */
export const clearFailures = (db: Executor, key: string) =>
  db.deleteFrom('login_attempts').where('throttle_key', '=', key).execute();
