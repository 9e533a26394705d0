import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../../lib/config/build';

/**
 * The project's own ESLint rules, run through ESLint's API in a child process (the config is the real
 * eslint.config.js) on small sources, each linted as if it lived at the given path.
 */
function ruleIds(samples: Array<{ path: string; code: string }>): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    import tseslint from 'typescript-eslint';
    // Samples are not files of the TypeScript project: lint them without the type-aware rules.
    const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked });
    const out = [];
    for (const { path, code } of JSON.parse(process.env.SAMPLES)) {
      const [result] = await eslint.lintText(code, { filePath: path });
      out.push(result.messages.map((m) => m.ruleId ?? m.message));
    }
    console.log(JSON.stringify(out));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, SAMPLES: JSON.stringify(samples) },
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

const ZOD = 'no-restricted-syntax';
const RESTRICTED = '@typescript-eslint/no-restricted-imports';

describe('lint rules', () => {
  it("forbids the named import of z from 'zod' (not tree-shakeable) and allows the namespace and type-only forms", () => {
    const found = ruleIds([
      { path: 'shared/sample.ts', code: "import { z } from 'zod';\nexport const s = z.string();\n" },
      {
        path: 'functions/sample/schemas.ts',
        code: "import { z, ZodError } from 'zod';\nexport const s = [z, ZodError];\n",
      },
      { path: 'shared/sample.ts', code: "import * as z from 'zod';\nexport const s = z.string();\n" },
      {
        path: 'shared/sample.ts',
        code: "import type { z } from 'zod';\nexport type S = z.infer<z.ZodString>;\n",
      },
      { path: 'shared/sample.ts', code: "import type { ZodType } from 'zod';\nexport type S = ZodType;\n" },
    ]);

    expect(found).toEqual([[ZOD], [ZOD], [], [], []]);
  });

  it('keeps the CDK app from importing build scripts or handlers', () => {
    const found = ruleIds([
      {
        path: 'lib/stacks/sample.ts',
        code: "import { buildBundle } from '../../scripts/build-bundles';\nexport const b = buildBundle;\n",
      },
      {
        path: 'lib/stacks/sample.ts',
        code: "import { handler } from '../../functions/streams/handler';\nexport const h = handler;\n",
      },
      {
        path: 'lib/stacks/sample.ts',
        code: "import { contexts } from '../../functions/contexts';\nexport const c = contexts;\n",
      },
      {
        path: 'bench/sample.ts',
        code: "import { buildBundle } from '../scripts/build-bundles';\nexport const b = buildBundle;\n",
      },
    ]);

    expect(found).toEqual([[RESTRICTED], [RESTRICTED], [], []]);
  });
});
