import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = process.cwd();

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });

const importsOf = (file: string) =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]);

describe('layering (ARCHITECTURE.md, rules of the house)', () => {
  it('keeps shared/ free of imports from functions/, local/, bin/, lib/ and scripts/', () => {
    const offending = sources('shared').flatMap((file) =>
      importsOf(file)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => relative(ROOT, join(ROOT, file, '..', spec)))
        .filter((target) => /^(functions|local|bin|lib|scripts)\//.test(target))
        .map((target) => `${file} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps SQL in shared/db: no query builder or sql template outside it', () => {
    const offending = [...sources('shared'), ...sources('functions'), ...sources('local'), ...sources('bin')]
      .filter((file) => !file.startsWith('shared/db/'))
      .filter((file) =>
        /\.(selectFrom|insertInto|updateTable|deleteFrom)\(|\bsql`|\.transaction\(\)/.test(
          readFileSync(join(ROOT, file), 'utf8'),
        ),
      );
    expect(offending).toEqual([]);
  });

  it('reads the environment only in shared/config, bin/ and scripts/', () => {
    const offending = [...sources('shared'), ...sources('functions'), ...sources('local'), ...sources('lib')]
      .filter((file) => !file.startsWith('shared/config/'))
      .filter((file) => /process\.env\b/.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(offending).toEqual([]);
  });
});
