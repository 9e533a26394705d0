import { describe, expect, it } from 'vitest';
import { migrations } from '../../migrations';

describe('the migration registry', () => {
  // Kysely runs them by name; the migrate function reports them in the map's order. Parallel branches that
  // each add one at the end of the map must not leave it out of order after a merge.
  it('lists the migrations in the order they run', () => {
    const names = Object.keys(migrations);
    expect(names).toEqual([...names].sort());
  });
});
