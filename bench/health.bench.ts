/**
 * Per-request overhead on the smallest route: CPU per GET /health through the whole pipeline (structured
 * log line and EMF metrics on, as deployed) against a bare handler answering fixed JSON from the same event,
 * and the stdout lines written per request. Runs bench/health-probe.ts with its stdout discarded.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { report } from './load';

const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'health-probe.ts')], {
  env: {
    ...process.env,
    LOG_LEVEL: 'INFO',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'MiraBench',
  },
  stdio: ['ignore', 'ignore', 'pipe'],
  encoding: 'utf8',
});
const line = run.stderr.trim().split('\n').at(-1) ?? '';
if (run.status !== 0 || !line.startsWith('{')) throw new Error(`health probe failed: ${run.stderr}`);
const { mira, bare, linesPerRequest, requests } = JSON.parse(line) as Record<string, number>;
report(
  `GET /health CPU per request ${(mira * 1000).toFixed(1)} us vs bare fixed JSON ${(bare * 1000).toFixed(1)} us ` +
    `(${(bare / mira).toFixed(2)}x), ${linesPerRequest.toFixed(2)} stdout lines per request (${requests} requests)`,
);
