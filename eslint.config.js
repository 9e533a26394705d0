import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports forbidden in the CDK app. */
const restrictedImports = (extraPatterns = []) => [
  'error',
  {
    patterns: extraPatterns,
  },
];

export default tseslint.config(
  { ignores: ['node_modules', '.tools', '.mira', 'cdk.out', 'dist', 'coverage', 'shared/docs/assets'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-restricted-imports': restrictedImports(),
    },
  },
  {
    // The CDK app reads the registry (functions/contexts.ts) and lib/config; it never runs build scripts
    // and never evaluates a handler (the audio contexts' handlers load ONNX models).
    files: ['lib/**/*.ts', 'bin/mira.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrictedImports([
        {
          group: ['**/scripts/*', '**/scripts/**'],
          message: 'lib/ must not depend on scripts/; shared build constants live in lib/config/build.ts.',
        },
        {
          group: ['**/functions/*/handler'],
          message: 'The CDK app must not load handlers; read functions/contexts.ts.',
        },
      ]),
    },
  },
);
