import { closeDb, getDb } from '../../shared/db/client';
import { migrateToLatest } from '../../shared/db/migrate';
import { logger } from '../../shared/observability';

/**
 * Runs the database migrations. Not an HTTP function: CloudFormation invokes it at every deploy through
 * a CDK trigger (which sends the trigger's own event), and operators invoke it by hand with
 * `{"action": "run_migrations"}` (the seed Lambda's convention). Any other action is refused, so a
 * mistyped manual invocation does nothing.
 */
export interface MigrateEvent {
  action?: string;
}

export interface MigrateResult {
  action: 'run_migrations';
  applied: string[];
}

export class UnknownActionError extends Error {
  constructor(action: string) {
    super(`Unknown action "${action}"; the only action is "run_migrations"`);
    this.name = 'UnknownActionError';
  }
}

export const handler = async (event: MigrateEvent | undefined): Promise<MigrateResult> => {
  const action = event?.action ?? 'run_migrations';
  if (action !== 'run_migrations') throw new UnknownActionError(action);
  try {
    const applied = await migrateToLatest(await getDb());
    logger.info('migrations applied', { applied, count: applied.length });
    return { action, applied };
  } catch (error) {
    // A failed migration fails the trigger, and with it the deployment, which CloudFormation rolls back.
    logger.error('migrations failed', { error });
    throw error;
  } finally {
    // The next invocation may come much later with a rotated password; keep no connection open.
    await closeDb();
  }
};
