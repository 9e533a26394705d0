import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', '.tools', '.mira', 'cdk.out', 'dist', 'coverage', 'shared/docs/assets'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-restricted-syntax': [
        'error',
        {
          // `import { z } from 'zod'` binds zod's whole namespace object, which esbuild cannot tree-shake:
          // every bundle would carry all of zod v4 (~450 KB minified, every locale) and evaluate it at cold
          // start. The namespace form lets esbuild keep what is used. Type-only imports cost nothing.
          selector:
            "ImportDeclaration[source.value=/^zod(\\u002Fv4)?$/][importKind!='type'] > ImportSpecifier[imported.name='z'][importKind!='type']",
          message: "Write `import * as z from 'zod'`: the named form makes every bundle carry all of zod.",
        },
      ],
    },
  },
  {
    // Plain CommonJS scripts that any Node version can run (scripts/require-node.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The CDK app reads the registry (functions/contexts.ts) and lib/config; it never runs build scripts
    // and never evaluates a handler (the audio contexts' handlers load ONNX models).
    files: ['lib/**/*.ts', 'bin/mira.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/scripts/*', '**/scripts/**'],
              message:
                'lib/ must not depend on scripts/; shared build constants live in lib/config/build.ts.',
            },
            {
              group: ['**/functions/*/handler'],
              message: 'The CDK app must not load handlers; read functions/contexts.ts.',
            },
          ],
        },
      ],
    },
  },
);
