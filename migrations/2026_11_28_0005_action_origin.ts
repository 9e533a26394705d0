import { type Kysely, sql } from 'kysely';

/**
 * Where an action came from: `inference` (POST P/interactions/{id}/inference) or `command` (a tool Mira
 * ran for a wake-word command); null for older rows. An interaction yields at most one inferred action:
 * a repeated or concurrent inference call answers the stored one instead of storing a duplicate.
 */
const statements = [
  sql`ALTER TABLE actions ADD COLUMN origin text CHECK (origin IN ('inference', 'command'))`,
  sql`CREATE UNIQUE INDEX actions_one_inference_per_interaction ON actions (interaction_id)
      WHERE origin = 'inference'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS actions_one_inference_per_interaction`.execute(db);
  await sql`ALTER TABLE actions DROP COLUMN IF EXISTS origin`.execute(db);
}
