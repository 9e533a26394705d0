import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../lib/config/build';
import { buildBundle } from '../../scripts/build-bundles';
import { probeBundle } from '../../scripts/probe-bundle';

/**
 * Packaging rules for native externals, on a scratch repository whose only function imports
 * onnxruntime-node (the audio contexts will): the build refuses it outside the audio contexts, and an
 * audio context's bundle ships onnxruntime-node for linux/x64 only and loads it in a fresh process.
 */
const scratch = mkdtempSync(join(tmpdir(), 'mira-packaging-'));
for (const shared of ['node_modules', 'shared', 'migrations', 'package.json']) {
  symlinkSync(join(ROOT, shared), join(scratch, shared));
}
const onnxHandler = `
import * as ort from 'onnxruntime-node';
export const handler = async () => ({ statusCode: 200, body: typeof ort.InferenceSession.create });
`;
for (const name of ['persons', 'service']) {
  mkdirSync(join(scratch, 'functions', name), { recursive: true });
  writeFileSync(join(scratch, 'functions', name, 'handler.ts'), onnxHandler);
}

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('native externals', () => {
  it('refuses onnxruntime-node in a context that does not process audio', async () => {
    await expect(buildBundle('service', join(scratch, 'out-service'), scratch)).rejects.toThrow(
      /service imports onnxruntime-node, which only audio contexts may ship/,
    );
  });

  it('ships onnxruntime-node for linux/x64 only in an audio context, and it loads there', async () => {
    const bundle = await buildBundle('persons', join(scratch, 'out-persons'), scratch);

    expect(Object.keys(bundle.dependencies)).toEqual(['onnxruntime-node']);
    const napi = join(bundle.outDir, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    expect(readdirSync(napi)).toEqual(['linux']);
    expect(readdirSync(join(napi, 'linux'))).toEqual(['x64']);
    expect(existsSync(join(bundle.outDir, 'node_modules', 'onnxruntime-common', 'package.json'))).toBe(true);
    const { invocations } = await probeBundle(bundle.outDir, [{}]);
    expect(invocations[0]).toMatchObject({ statusCode: 200, body: 'function' });
  }, 120_000);
});
