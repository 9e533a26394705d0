import { type Kysely, sql } from 'kysely';

/**
 * An action's `details` becomes the human-readable text every client renders (the 1.1 app puts it in the
 * page as a React child, so an object broke it; 4.x calls `.trim()` on it); the structured fields it held
 * move to `payload`. Existing rows keep both: their object is the payload, its title or text the details.
 * Status also takes `confirmed`, which the 4.x app sends.
 */
const statements = [
  sql`ALTER TABLE actions ADD COLUMN payload jsonb NOT NULL DEFAULT '{}'::jsonb`,
  sql`UPDATE actions SET payload = details`,
  sql`ALTER TABLE actions ALTER COLUMN details DROP DEFAULT`,
  sql`ALTER TABLE actions ALTER COLUMN details DROP NOT NULL`,
  sql`ALTER TABLE actions ALTER COLUMN details TYPE text USING nullif(btrim(coalesce(
        details->>'title', details->>'text', details->>'what', details->>'canonical_text', details->>'contact', '')), '')`,
  sql`ALTER TABLE actions DROP CONSTRAINT actions_status_check`,
  sql`ALTER TABLE actions ADD CONSTRAINT actions_status_check
        CHECK (status IN ('pending', 'confirmed', 'done', 'dismissed'))`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE actions DROP CONSTRAINT actions_status_check`.execute(db);
  await sql`UPDATE actions SET status = 'pending' WHERE status = 'confirmed'`.execute(db);
  await sql`ALTER TABLE actions ADD CONSTRAINT actions_status_check
    CHECK (status IN ('pending', 'done', 'dismissed'))`.execute(db);
  await sql`ALTER TABLE actions ALTER COLUMN details TYPE jsonb USING payload`.execute(db);
  await sql`ALTER TABLE actions ALTER COLUMN details SET NOT NULL`.execute(db);
  await sql`ALTER TABLE actions ALTER COLUMN details SET DEFAULT '{}'::jsonb`.execute(db);
  await sql`ALTER TABLE actions DROP COLUMN payload`.execute(db);
}
