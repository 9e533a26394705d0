import { sql } from 'kysely';
import { inTransaction, advisoryLock, type Executor } from '../transaction';

/** A person as answers show it: the raw voice embedding stays in the database. */
export interface PersonView {
  id: string;
  network_id: string;
  name: string;
  index: number;
  has_voice_embedding: boolean;
  cluster_id: string | null;
  conversation_count: number;
  created_at: Date;
  updated_at: Date;
}

// The count is a column kept by a trigger (migration 0040), not a correlated count(*) per person listed.
const personView = (db: Executor) =>
  db
    .selectFrom('persons as p')
    .select([
      'p.id',
      'p.network_id',
      'p.name',
      'p.index',
      'p.cluster_id',
      'p.created_at',
      'p.updated_at',
      sql<boolean>`p.voice_embedding IS NOT NULL`.as('has_voice_embedding'),
      'p.conversation_count',
    ]);

const normalise = (row: Omit<PersonView, 'conversation_count'> & { conversation_count: unknown }) => ({
  ...row,
  conversation_count: Number(row.conversation_count ?? 0),
});

export const listPersons = async (db: Executor, networkId: string): Promise<PersonView[]> =>
  (await personView(db).where('p.network_id', '=', networkId).orderBy('p.index').execute()).map(normalise);

/**
 * The names of some persons of this network, by id: what a model prompt shows for its speakers, without
 * the rest of the person view (for the context of a command: at most a handful of ids, by primary key).
 */
export const personNames = async (
  db: Executor,
  networkId: string,
  personIds: readonly string[],
): Promise<Map<string, string>> => {
  const ids = [...new Set(personIds)];
  if (!ids.length) return new Map();
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'name'])
    .where('network_id', '=', networkId)
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, r.name]));
};

/** A person of this network; undefined for an unknown id or one of another network. */
export const findPerson = async (
  db: Executor,
  networkId: string,
  personId: string,
): Promise<PersonView | undefined> => {
  const row = await personView(db)
    .where('p.network_id', '=', networkId)
    .where('p.id', '=', personId)
    .executeTakeFirst();
  return row && normalise(row);
};

/** Whether the person exists in this network (cheap check before linking to it). */
export const personExists = async (db: Executor, networkId: string, personId: string): Promise<boolean> =>
  !!(await db
    .selectFrom('persons')
    .select('id')
    .where('network_id', '=', networkId)
    .where('id', '=', personId)
    .executeTakeFirst());

/**
 * Creates a person with the network's next `index` (1, 2, 3...). A per-network advisory lock makes
 * concurrent creations take turns, so two requests never compute the same index; the UNIQUE
 * (network_id, index) constraint stays as the last line of defence. Composes inside a caller's transaction.
 */
export const createPerson = (
  db: Executor,
  networkId: string,
  name: string,
  extra: { voice_embedding?: number[] | null; cluster_id?: string | null } = {},
): Promise<PersonView> =>
  inTransaction(db, async (trx) => {
    await advisoryLock(trx, 'personIndex', networkId);
    const { next } = await trx
      .selectFrom('persons')
      .select(sql<number>`coalesce(max(index), 0) + 1`.as('next'))
      .where('network_id', '=', networkId)
      .executeTakeFirstOrThrow();
    const { id } = await trx
      .insertInto('persons')
      .values({
        network_id: networkId,
        name,
        index: Number(next),
        voice_embedding: extra.voice_embedding ?? null,
        cluster_id: extra.cluster_id ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await findPerson(trx, networkId, id))!;
  });

/** Renames a person; undefined when it is not in this network. */
export const renamePerson = async (
  db: Executor,
  networkId: string,
  personId: string,
  name: string,
): Promise<PersonView | undefined> => {
  const updated = await db
    .updateTable('persons')
    .set({ name, updated_at: sql<Date>`now()` })
    .where('network_id', '=', networkId)
    .where('id', '=', personId)
    .returning('id')
    .executeTakeFirst();
  return updated ? findPerson(db, networkId, personId) : undefined;
};

/**
 * Deletes a person. Their interactions and actions stay, unattributed (ON DELETE SET NULL), and they
 * leave every conversation's participants (ON DELETE CASCADE).
 */
export const deletePerson = (db: Executor, networkId: string, personId: string): Promise<boolean> =>
  inTransaction(db, async (trx) => {
    // Under the person lock, as every writer of speaker embeddings (deleted with the person): a speaker
    // decision in flight never sees its cached embeddings change under it.
    await advisoryLock(trx, 'personIndex', networkId);
    const result = await trx
      .deleteFrom('persons')
      .where('network_id', '=', networkId)
      .where('id', '=', personId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  });

/** A person's stored voiceprint, for matching and tests; never part of an answer. */
export const findVoiceprint = (db: Executor, networkId: string, personId: string) =>
  db
    .selectFrom('persons')
    .select(['voice_embedding', 'voice_sample_count'])
    .where('network_id', '=', networkId)
    .where('id', '=', personId)
    .executeTakeFirst();
