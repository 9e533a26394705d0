/**
 * A household with a long history, seeded in SQL (generate_series) so 100k rows take seconds: the size at
 * which the queries were measured. Shared by the query bench and scripts/explain-queries.ts.
 */
import { sql } from 'kysely';
import type { Db } from '../shared/db/client';

export interface History {
  networkId: string;
  /** Another network's rows, so every query must filter by network to stay fast. */
  otherNetworkId: string;
  persons: number;
  interactions: number;
  conversations: number;
}

/**
 * `persons` persons, `interactions` interactions spread over conversations of 50 utterances each (all
 * ended but the newest), three participants per conversation, and a neighbour network a tenth the size.
 */
export async function seedHistory(db: Db, persons = 1000, interactions = 100_000): Promise<History> {
  const conversations = Math.ceil(interactions / 50);
  const make = async (name: string, p: number, n: number, c: number) => {
    const { id } = await db.insertInto('networks').values({ name }).returning('id').executeTakeFirstOrThrow();
    await sql`INSERT INTO persons (network_id, name, index)
      SELECT ${id}::uuid, 'Person ' || g, g FROM generate_series(1, ${p}::int) g`.execute(db);
    // Conversation g covers minutes [g*50, g*50+50) of the history, which starts a year ago.
    await sql`INSERT INTO conversations (network_id, started_at, last_interaction_at, ended_at, is_active)
      SELECT ${id}::uuid,
             now() - interval '365 days' + (g * 50) * interval '1 minute',
             now() - interval '365 days' + (g * 50 + 49) * interval '1 minute',
             CASE WHEN g < ${c}::int THEN now() - interval '365 days' + (g * 50 + 49) * interval '1 minute' END,
             g = ${c}::int
      FROM generate_series(1, ${c}::int) g`.execute(db);
    await sql`WITH c AS (SELECT id, row_number() OVER (ORDER BY started_at) AS g FROM conversations
                         WHERE network_id = ${id}::uuid),
                   p AS (SELECT id, index FROM persons WHERE network_id = ${id}::uuid)
      INSERT INTO conversation_participants (conversation_id, person_id, joined_at)
      SELECT c.id, p.id, now() FROM c JOIN p ON p.index IN (
        (c.g % ${p}::int) + 1, ((c.g * 7) % ${p}::int) + 1, ((c.g * 13) % ${p}::int) + 1)
      ON CONFLICT DO NOTHING`.execute(db);
    await sql`WITH c AS (SELECT id, started_at, row_number() OVER (ORDER BY started_at) AS g FROM conversations
                         WHERE network_id = ${id}::uuid),
                   p AS (SELECT id, index FROM persons WHERE network_id = ${id}::uuid)
      INSERT INTO interactions (network_id, conversation_id, person_id, interaction_type, text, timestamp,
                                topics, entities)
      SELECT ${id}::uuid, c.id, p.id, 'text', 'Utterance ' || i || ' of the household history',
             c.started_at + (i % 50) * interval '1 minute', '["history"]', '[]'
      FROM generate_series(0, ${n}::int - 1) i
      JOIN c ON c.g = i / 50 + 1
      JOIN p ON p.index = ((c.g + (i % 3) * 6 * c.g) % ${p}::int) + 1`.execute(db);
    return id;
  };
  const networkId = await make('history', persons, interactions, conversations);
  const otherNetworkId = await make(
    'neighbour',
    Math.max(1, persons / 10),
    interactions / 10,
    Math.ceil(conversations / 10),
  );
  await sql`ANALYZE`.execute(db);
  return { networkId, otherNetworkId, persons, interactions, conversations };
}
