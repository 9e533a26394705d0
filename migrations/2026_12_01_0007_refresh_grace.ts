import { type Kysely, sql } from 'kysely';

/**
 * The reuse grace of refresh tokens: a used token remembers the pair its rotation issued, sealed with a key
 * derived from the used token itself (only its holder can open it), so concurrent refreshes with one token
 * within a few seconds all get that same pair instead of revoking the family.
 */
const statements = [sql`ALTER TABLE refresh_tokens ADD COLUMN successor text`];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE refresh_tokens DROP COLUMN IF EXISTS successor`.execute(db);
}
