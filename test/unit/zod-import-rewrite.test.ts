import { describe, expect, it } from 'vitest';
import { rewriteZodImports } from '../../scripts/build-bundles';

describe('rewriting zod imports for tree-shaking', () => {
  it('turns the named z import into a namespace import', () => {
    expect(rewriteZodImports("import { z } from 'zod';\nconst a = z.string();")).toBe(
      "import * as z from 'zod';\nconst a = z.string();",
    );
  });

  it('keeps the other named imports', () => {
    expect(rewriteZodImports('import { z, ZodError } from "zod";')).toBe(
      'import * as z from "zod"; import { ZodError } from "zod";',
    );
  });

  it('leaves type-only imports and other packages alone', () => {
    const source =
      "import type { z } from 'zod';\nimport { z as y } from 'zod/mini';\nimport { x } from 'zod';";

    expect(rewriteZodImports(source)).toBe(source);
  });
});
