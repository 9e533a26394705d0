import { type Kysely, sql } from 'kysely';

/**
 * Queries that must not grow with a household's history (issue 16):
 *
 * - Conversation assignment reads the network's latest active conversation on every post and utterance,
 *   under the network lock: a partial index in exactly its order makes it one index probe (with its LIMIT 1)
 *   instead of a scan of every conversation the network ever had.
 * - A person's conversation count was a correlated `count(*)` over the participants, per person listed
 *   (0.24 -> 11.9 ms at 1000 persons, 29 ms on PGlite). It is now a column kept by a trigger on the
 *   participants, in the same statement that adds or removes one (so it is never stale, whichever code path
 *   or cascade changes them), and backfilled here. Plain PL/pgSQL: PGlite and PostgreSQL both run it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX conversations_network_active_latest_idx
    ON conversations (network_id, last_interaction_at DESC, id DESC) WHERE is_active`.execute(db);
  await sql`ALTER TABLE persons ADD COLUMN conversation_count integer NOT NULL DEFAULT 0`.execute(db);
  await sql`UPDATE persons p SET conversation_count = c.n
    FROM (SELECT person_id, count(*)::int AS n FROM conversation_participants GROUP BY person_id) c
    WHERE c.person_id = p.id`.execute(db);
  await sql`CREATE FUNCTION persons_count_conversations() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE persons SET conversation_count = conversation_count + 1 WHERE id = NEW.person_id;
      END IF;
      IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE persons SET conversation_count = conversation_count - 1 WHERE id = OLD.person_id;
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER conversation_participants_count
    AFTER INSERT OR DELETE OR UPDATE OF person_id ON conversation_participants
    FOR EACH ROW EXECUTE FUNCTION persons_count_conversations()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS conversation_participants_count ON conversation_participants`.execute(db);
  await sql`DROP FUNCTION IF EXISTS persons_count_conversations()`.execute(db);
  await sql`ALTER TABLE persons DROP COLUMN IF EXISTS conversation_count`.execute(db);
  await sql`DROP INDEX IF EXISTS conversations_network_active_latest_idx`.execute(db);
}
