import type { Config } from 'jest';

// Middy 7, Kysely 0.29 and jose 6 are ESM-first, so the suite runs as native ESM
// (`--experimental-vm-modules`, set by `npm test`) and SWC only strips the types.
const config: Config = {
  // onnxruntime-node's tensors are main-realm typed arrays; see test/helpers/onnx-environment.js.
  testEnvironment: '<rootDir>/test/helpers/onnx-environment.js',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
      },
    ],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Synthesised assets in cdk.out/ and built bundles in dist/ carry copies of package.json.
  modulePathIgnorePatterns: ['<rootDir>/cdk.out/', '<rootDir>/dist/'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testTimeout: 60_000,
  // Each file gets its own database; two workers match the two cores of CI.
  maxWorkers: 2,
};

export default config;
