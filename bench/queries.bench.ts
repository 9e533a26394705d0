/**
 * The queries that grow with a household's history, at 100k interactions and 1000 persons (issue 16):
 * conversation assignment (every post and utterance, under the network lock), the person list, the
 * context a command or an inference shows the model, and the first and last pages of interactions by
 * offset and by cursor. On PostgreSQL when DATABASE_URL is set (a database of its own), else PGlite.
 * Each figure is the median of its runs, with the load average beside it; writes are rolled back.
 */
import './quiet-env';
import { sql, type Transaction } from 'kysely';
import { conversationContext } from '../functions/interactions/service';
import { assignConversation, listConversations } from '../shared/db/repositories/conversations';
import {
  decodeInteractionCursor,
  listInteractions,
  listInteractionsPage,
} from '../shared/db/repositories/interactions';
import { findPerson, listPersons } from '../shared/db/repositories/persons';
import type { Database } from '../shared/db/types';
import { openBenchDb } from './bench-db';
import { seedHistory } from './history';
import { median, report } from './load';

const PERSONS = Number(process.env.BENCH_PERSONS ?? 1000);
const INTERACTIONS = Number(process.env.BENCH_INTERACTIONS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 25);

const bench = await openBenchDb();
const { db } = bench;
let t = performance.now();
const history = await seedHistory(db, PERSONS, INTERACTIONS);
report(
  `seeded ${history.interactions} interactions, ${history.persons} persons, ${history.conversations} conversations ` +
    `on ${bench.driver} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
const { networkId } = history;

class Rollback extends Error {}
/** Runs `work` in a transaction that is rolled back: the database stays as seeded. */
const rolledBack = async (work: (trx: Transaction<Database>) => Promise<unknown>) => {
  try {
    await db.transaction().execute(async (trx) => {
      await work(trx);
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
};

const figures = new Map<string, number>();
async function measure(label: string, run: () => Promise<unknown>) {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  const p50 = median(times);
  figures.set(label, p50);
  report(`${label.padEnd(52)} p50 ${p50.toFixed(2).padStart(7)} ms`);
}

const newest = (await listInteractions(db, networkId, { limit: 1, offset: 0 }))[0];
await measure('assign conversation (latest active, rolled back)', () =>
  rolledBack((trx) =>
    assignConversation(trx, { networkId, personId: newest.person_id, timestamp: new Date() }),
  ),
);
await measure(`list persons (${PERSONS}, with conversation counts)`, () => listPersons(db, networkId));
await measure('find one person', () => findPerson(db, networkId, newest.person_id!));
await measure('conversation context of a command', () => conversationContext(db, newest));
// The same reads as they were before migration 0040, run here at the same moment, so the comparison holds
// on a busy machine: the correlated count per person, and the context that listed every person.
await measure(`  before: list persons with a correlated count(*)`, () =>
  sql`SELECT p.id, p.name, p.index, (SELECT count(*)::int FROM conversation_participants cp
      WHERE cp.person_id = p.id) AS conversation_count
    FROM persons p WHERE p.network_id = ${networkId} ORDER BY p.index`.execute(db),
);
await measure('  before: conversation context via the whole person list', async () => {
  await sql`SELECT p.id, p.name, (SELECT count(*)::int FROM conversation_participants cp
      WHERE cp.person_id = p.id) AS n FROM persons p WHERE p.network_id = ${networkId}`.execute(db);
  await listInteractions(db, networkId, { conversationId: newest.conversation_id!, limit: 11, offset: 0 });
});
await measure('interactions, first page (50)', () =>
  listInteractions(db, networkId, { limit: 50, offset: 0 }),
);
await measure('interactions, last page by offset', () =>
  listInteractions(db, networkId, { limit: 50, offset: INTERACTIONS - 50 }),
);
await measure('conversations, first page (50)', () =>
  listConversations(db, networkId, { limit: 50, offset: 0 }),
);
// The cursor a client paging with `before` holds when it reaches the end: the page before the last one's.
const { nextCursor } = await listInteractionsPage(db, networkId, { limit: 50, offset: INTERACTIONS - 100 });
const before = decodeInteractionCursor(nextCursor!);
await measure('interactions, last page by cursor (before=)', () =>
  listInteractionsPage(db, networkId, { limit: 50, offset: 0, before }),
);
const first = figures.get('interactions, first page (50)')!;
report(
  `last page / first page: by cursor ${(figures.get('interactions, last page by cursor (before=)')! / first).toFixed(2)}x ` +
    `(target <= 2x), by offset ${(figures.get('interactions, last page by offset')! / first).toFixed(1)}x`,
);
await bench.close();
