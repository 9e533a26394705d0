import { type Kysely, sql } from 'kysely';

/**
 * Episodic memories extracted from conversations, the actions they created (linked both ways: the
 * action's `memory_id`, unique, so updating a memory never makes a second action), and how far each
 * conversation's summary has got (its rolling summary and the quiet-period sweep read it).
 */
const statements = [
  sql`CREATE TABLE episodic_memories (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    source_conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
    memory_type text NOT NULL CHECK (memory_type IN ('commitment', 'plan', 'fact', 'preference')),
    status text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'confirmed', 'cancelled', 'expired')),
    canonical_text text NOT NULL,
    action_kind text CHECK (action_kind IN ('remind', 'schedule', 'contact')),
    participant_person_ids jsonb NOT NULL DEFAULT '[]'::jsonb,
    proposed_start_at timestamptz,
    proposed_end_at timestamptz,
    expires_at timestamptz,
    confidence real,
    provenance jsonb NOT NULL DEFAULT '{}'::jsonb,
    transition_history jsonb NOT NULL DEFAULT '[]'::jsonb,
    dedupe_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX episodic_memories_network_created_idx
    ON episodic_memories (network_id, created_at DESC, id DESC)`,
  sql`CREATE INDEX episodic_memories_conversation_idx ON episodic_memories (source_conversation_id)`,
  // One memory per normalised text and conversation: a rolling summary that sees it again updates it.
  sql`CREATE UNIQUE INDEX episodic_memories_dedupe_idx
    ON episodic_memories (network_id, source_conversation_id, dedupe_key) WHERE dedupe_key IS NOT NULL`,
  sql`CREATE INDEX episodic_memories_expiry_idx ON episodic_memories (expires_at)
    WHERE status IN ('proposed', 'confirmed') AND expires_at IS NOT NULL`,
  sql`CREATE INDEX episodic_memories_text_fts_idx
    ON episodic_memories USING gin (to_tsvector('simple', canonical_text))`,
  sql`ALTER TABLE actions ADD COLUMN memory_id uuid REFERENCES episodic_memories(id) ON DELETE SET NULL`,
  sql`CREATE UNIQUE INDEX actions_memory_idx ON actions (memory_id) WHERE memory_id IS NOT NULL`,
  sql`ALTER TABLE conversations ADD COLUMN summarized_through timestamptz`,
  sql`ALTER TABLE conversations ADD COLUMN summarized_at timestamptz`,
  sql`CREATE INDEX conversations_summary_due_idx ON conversations (last_interaction_at)
    WHERE summarized_through IS NULL OR summarized_through < last_interaction_at`,
  sql`CREATE INDEX conversations_summary_fts_idx ON conversations USING gin (to_tsvector('simple',
    coalesce(title, '') || ' ' || coalesce(topic_summary, '') || ' ' || coalesce(context_summary, '')))`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS conversations_summary_fts_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS conversations_summary_due_idx`.execute(db);
  await sql`ALTER TABLE conversations DROP COLUMN IF EXISTS summarized_at`.execute(db);
  await sql`ALTER TABLE conversations DROP COLUMN IF EXISTS summarized_through`.execute(db);
  await sql`ALTER TABLE actions DROP COLUMN IF EXISTS memory_id`.execute(db);
  await sql`DROP TABLE IF EXISTS episodic_memories`.execute(db);
}
