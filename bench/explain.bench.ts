/**
 * `npm run bench -- explain`: EXPLAIN ANALYZE of every statement the API issues (bench/query-plans.ts), at
 * 100k interactions and 1000 persons, on the PostgreSQL server at DATABASE_URL (a database of its own).
 * One line per statement: where it came from, its execution time, the plan's shape, and SEQ SCAN when a
 * table is read whole. `BENCH_EXPLAIN_SQL=1` prints the SQL too. Skipped without DATABASE_URL: PGlite's
 * plans are PostgreSQL's, but the figures are the server's.
 */
import './quiet-env';
import { openBenchDb } from './bench-db';
import { seedHistory } from './history';
import { loadNote, report } from './load';
import { capturingDb, distinct, exerciseApi, planStatement, sendThrough } from './query-plans';

if (!process.env.DATABASE_URL) {
  console.log('skipped: set DATABASE_URL to a PostgreSQL server');
  process.exit(0);
}
const bench = await openBenchDb();
const history = await seedHistory(bench.db, 1000, 100_000);
const capture = capturingDb(bench.url!);
const { setDb } = await import('../shared/db/client');
setDb(capture.db);
const { contexts, defaultContextName } = await import('../functions/contexts');
const { LocalDispatcher } = await import('../local/dispatch');
const dispatcher = new LocalDispatcher(contexts, defaultContextName);
await exerciseApi(capture, sendThrough(dispatcher), history);

console.log(
  `${history.interactions} interactions, ${history.persons} persons, ${history.conversations} conversations; ${loadNote()}`,
);
let interactionScans = 0;
for (const statement of distinct(capture.statements).filter((s) => s.label !== 'setup')) {
  const label = statement.label.slice(0, 46).padEnd(46);
  let plan;
  try {
    plan = await planStatement(capture.pool, statement);
  } catch (error) {
    // A write replayed after its first run can collide with what that run stored (a person's number).
    report(`${label}  not replayable: ${(error as Error).message}`);
    continue;
  }
  // A sequential scan of interactions is the one that grows without bound; the others are printed in the
  // shape (a household's 1000 persons are listed whole, and reading them whole is right).
  const whole = plan.seqScans.includes('interactions');
  if (whole) interactionScans++;
  report(
    `${label} ${plan.executionMs.toFixed(2).padStart(7)} ms  ${whole ? 'SEQ SCAN OF interactions  ' : ''}${plan.shape.slice(0, 110)}`,
  );
  if (process.env.BENCH_EXPLAIN_SQL) console.log(`    ${plan.sql}`);
}
console.log(`\n${interactionScans} statement(s) read the interactions table sequentially`);
setDb(undefined);
await capture.db.destroy();
await bench.close();
