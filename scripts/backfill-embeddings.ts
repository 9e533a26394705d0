/**
 * `npm run backfill:embeddings`: embeds every stored text (interactions, conversation summaries, memories)
 * that has no embedding of its current content, in batches, until none is left. Resumable: stopped at any
 * point, the next run starts where it stopped, because embedded texts are no longer pending.
 */
import { config } from '../shared/config';
import { closeDb, getDb } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';
import { embedPending } from '../functions/memories/search';

async function main(): Promise<void> {
  if (!config().geminiApiKey) {
    console.error('backfill:embeddings needs GEMINI_API_KEY');
    process.exit(1);
  }
  const db = await getDb();
  await migrateToLatest(db);
  let total = 0;
  for (;;) {
    const embedded = await embedPending(db, 100);
    if (embedded === 0) break;
    total += embedded;
    console.log(`embedded ${total} texts so far`);
  }
  console.log(`done: ${total} texts embedded`);
  await closeDb();
}

void main();
