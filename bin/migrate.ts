/** `npm run migrate`: brings DATABASE_URL (or the embedded database under .mira/) to the latest schema. */
import { closeDb, describeDatabase, getDb } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';

try {
  const applied = await migrateToLatest(await getDb());
  console.log(
    applied.length
      ? `Applied ${applied.join(', ')} on ${describeDatabase()}`
      : `${describeDatabase()} is up to date`,
  );
} catch (error) {
  console.error('Migration failed:', error);
  process.exitCode = 1;
} finally {
  await closeDb();
}
