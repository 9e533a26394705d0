import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './2026_11_28_0001_initial';

/**
 * Every migration, by its sortable name. A static map because an esbuild bundle has no migrations folder
 * for Kysely's FileMigrationProvider to read. Add new migrations here; never edit a merged one.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_28_0001_initial': initial,
};

export const staticMigrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
