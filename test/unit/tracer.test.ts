import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../../lib/config/build';
import { traced, tracedSync, tracer } from '../../shared/observability/tracer';

/**
 * Outside Lambda the tracer is off and costs nothing: the X-Ray SDK loads in manual mode (no async hook on
 * every promise) and `traced` just runs the work. Checked in a fresh process that loads the module as
 * `npm start` does (Jest itself links CommonJS imports early, so test/setup-env.ts sets manual mode).
 */
function loadIn(env: Record<string, string>) {
  const script = `
    const { tracer } = await import('./shared/observability/tracer.ts');
    console.log(JSON.stringify({ enabled: tracer.isTracingEnabled(), namespaces: Object.keys(process.namespaces ?? {}) }));
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

describe('the tracer', () => {
  it('is off outside Lambda, without the X-Ray context hook', () => {
    expect(loadIn({})).toEqual({ enabled: false, namespaces: [] });
    expect(loadIn({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' })).toEqual(
      {
        enabled: false,
        namespaces: [],
      },
    );
  });

  it('is on in Lambda, with its context', () => {
    expect(loadIn({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', LAMBDA_TASK_ROOT: ROOT })).toEqual({
      enabled: true,
      namespaces: ['AWSXRay'],
    });
  });

  it('runs the traced work when off and passes its result and errors through', async () => {
    expect(tracer.isTracingEnabled()).toBe(false);
    await expect(traced('work', async () => 42)).resolves.toBe(42);
    await expect(
      traced('work', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(tracedSync('work', () => 'done')).toBe('done');
  });
});
