import { afterAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKERFILE, ROOT } from '../../lib/config/build';
import { buildBundle } from '../../scripts/build-bundles';
import { probeBundle, stageImage } from '../../scripts/probe-bundle';

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

describe('staging an image from the Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, DOCKERFILE), 'utf8');
  const asset = join(scratch, 'asset');
  mkdirSync(asset, { recursive: true });
  writeFileSync(join(asset, 'index.mjs'), 'export const handler = async () => ({ statusCode: 204 });\n');
  const variant = (name: string, text: string) => {
    writeFileSync(join(scratch, name), text);
    return join(scratch, name);
  };

  it("replays the runtime stage's copy steps and environment", () => {
    const image = stageImage(asset, join(scratch, 'task'), variant('Dockerfile.same', dockerfile));

    expect(readdirSync(image.dir)).toEqual(['index.mjs']);
    expect(image.env.NODE_COMPILE_CACHE).toBe(join(image.dir, '.node-compile-cache'));
  });

  it('refuses a runtime stage step it cannot replay, so the test cannot drift from the image', () => {
    const withRun = dockerfile.replace(/^CMD /m, 'RUN rm -rf ${LAMBDA_TASK_ROOT}/models\nCMD ');
    const withCopy = dockerfile.replace(
      /^CMD /m,
      'COPY shared/audio/models ${LAMBDA_TASK_ROOT}/models\nCMD ',
    );

    expect(() => stageImage(asset, join(scratch, 'task-run'), variant('Dockerfile.run', withRun))).toThrow(
      /RUN has no replay/,
    );
    expect(() => stageImage(asset, join(scratch, 'task-copy'), variant('Dockerfile.copy', withCopy))).toThrow(
      /COPY has no replay/,
    );
  });
});
