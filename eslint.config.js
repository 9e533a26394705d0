import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', '.tools', '.mira', 'cdk.out', 'dist', 'coverage', 'shared/docs/assets'] },
  js.configs.recommended,
  // Type-aware: floating and misused promises, unsafe `any` flows, needless assertions.
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Route handlers are typed to return a promise; an `async` one without `await` is the clear way.
      '@typescript-eslint/require-await': 'off',
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
    // Tests and benches read decoded JSON answers (`res.body.x`) all the time: `any` is their nature there.
    // Build scripts read package manifests and CDK asset files the same way.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
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
