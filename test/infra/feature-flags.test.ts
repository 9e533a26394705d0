import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ROOT } from '../../lib/config/build';
import { cdkJsonContext } from '../helpers/cdk';

/**
 * cdk.json sets every feature flag the pinned aws-cdk-lib recommends (so `cdk synth` has none left
 * unconfigured and a new project's defaults apply), except where Mira chooses otherwise, below. After an
 * aws-cdk-lib upgrade this test names the new flags; add them to cdk.json (and check the template diff).
 */
const DEVIATIONS: Record<string, unknown> = {
  // "weak" would let the data stack be deleted while the API stack still uses its database and secrets.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
  // Mira deploys to the aws partition only; aws-cn adds lookup tables nothing uses.
  '@aws-cdk/core:target-partitions': ['aws'],
};

const recommended = (): Record<string, unknown> => {
  const pkg = createRequire(join(ROOT, 'package.json')).resolve('aws-cdk-lib/package.json');
  return JSON.parse(readFileSync(join(dirname(pkg), 'recommended-feature-flags.json'), 'utf8'));
};

describe('CDK feature flags', () => {
  it('sets every recommended flag of the pinned aws-cdk-lib, deviations named', () => {
    const context = cdkJsonContext();
    const wrong = Object.entries(recommended())
      .map(([flag, value]) => ({ flag, expected: flag in DEVIATIONS ? DEVIATIONS[flag] : value }))
      .filter(({ flag, expected }) => JSON.stringify(context[flag]) !== JSON.stringify(expected));

    expect(wrong).toEqual([]);
  });
});
