import { defineConfig } from 'vitest/config';

// The `forks` pool runs each test file in a child process of its own, in Node's real realm: typed arrays made
// by native addons (onnxruntime-node) and errors made by fetch are the same classes the code checks against.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Synthesised assets in cdk.out/ and built bundles in dist/ carry copies of the sources and package.json.
    exclude: ['**/node_modules/**', 'cdk.out/**', 'dist/**'],
    pool: 'forks',
    // Each file gets its own database; two workers match the two cores of CI.
    maxWorkers: 2,
    setupFiles: ['test/setup-env.ts'],
    testTimeout: 60_000,
    // Hooks start databases, servers and synthesise whole CDK apps: a loaded 2-core machine needs minutes.
    hookTimeout: 180_000,
    // Values in `it.each` titles in full, as Jest wrote them (the default cuts them at 40 characters).
    taskTitleValueFormatTruncate: 1_000,
  },
});
