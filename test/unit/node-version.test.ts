import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT } from '../../lib/config/build';

/**
 * `npm start` and `npm test` refuse a Node.js older than package.json's engines with one line, before
 * anything loads (their pre-scripts run scripts/require-node.cjs); `npm ci` refuses through engine-strict.
 */
const CHECK = join(ROOT, 'scripts', 'require-node.cjs');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** A Node.js older than 24 on this machine (Debian's /usr/bin/node is 20 here), if there is one. */
function olderNode(): string | undefined {
  const candidates = [
    '/usr/bin/node',
    '/usr/local/bin/node',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'node')),
  ];
  for (const candidate of candidates) {
    try {
      const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (Number(version.split('.')[0]) < 24) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}
const old = olderNode();

describe('the Node.js version check', () => {
  it('runs before npm start and npm test, and npm ci is engine-strict', () => {
    expect(manifest.engines.node).toBe('>=24');
    expect(manifest.scripts.prestart).toBe('node scripts/require-node.cjs');
    expect(manifest.scripts.pretest).toBe('node scripts/require-node.cjs');
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).toMatch(/^engine-strict=true$/m);
  });

  it('lets this Node through silently', () => {
    const run = spawnSync(process.execPath, [CHECK], { encoding: 'utf8' });

    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
  });

  (old ? it : it.skip)('refuses an older Node with one clear line', () => {
    const run = spawnSync(old!, [CHECK], { encoding: 'utf8' });

    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^Mira needs Node\.js 24 or newer, this is v\d+\./),
    ]);
  });
});
