/**
 * Size and cold init of every function bundle, with the X-Ray tracer on as in AWS and (for its cost) off, built exactly as the images build them and staged by the
 * Dockerfile's runtime stage into a folder outside the repository. Cold init is what
 * Lambda pays before the first answer: importing index.mjs (module evaluation, secrets loading) plus the
 * first invocation, each in a fresh Node process. Targets: <= 150 ms without audio, <= 600 ms for audio
 * contexts (model sessions included). Init runs the real secrets path (signed GetSecretValue calls,
 * shared/config/secrets-manager.ts) against a local fake Secrets Manager; HTTP bundles then answer GET / (health) or a request their
 * router rejects before the database; the realtime bundle a $connect without a token; the migrate bundle
 * an unknown action; the queue worker an empty SQS batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AUDIO_FUNCTIONS,
  contexts,
  MIGRATE_FUNCTION,
  REALTIME_FUNCTION,
  WORKER_FUNCTION,
} from '../functions/contexts';
import { buildBundle, functionNames } from '../scripts/build-bundles';
import {
  lambdaEnvironment,
  probeBundle,
  stageImage,
  startFakeSecretsManager,
  startFakeXRayDaemon,
} from '../scripts/probe-bundle';
import { apiEvent, webSocketEvent, wrongMethodRequest } from '../test/helpers/bundles';

const secretsManager = await startFakeSecretsManager({
  'arn:app': { GEMINI_API_KEY: 'bench', JWT_SECRET: 'bench' },
  'arn:db': { username: 'mira', password: 'bench', dbname: 'mira', port: 9 },
});
const secretsEnv = {
  ...secretsManager.env,
  APP_SECRET_ARN: 'arn:app',
  DB_SECRET_ARN: 'arn:db',
  DB_PROXY_ENDPOINT: '127.0.0.1',
};
// Lambda's environment with active tracing, its daemon a local UDP sink: the Powertools tracer is on, as in AWS.
const daemon = await startFakeXRayDaemon();
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const work = mkdtempSync(join(tmpdir(), 'mira-bench-bundles-'));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MiB`;
let missed = 0;

console.log(
  `cold init = import + first invoke, median of ${RUNS} fresh processes, X-Ray tracing on (as deployed);\n` +
    `"untraced" is the same with POWERTOOLS_TRACE_ENABLED=false, "no tracer" a build without the tracer's code;\n` +
    `the target and the cpu column (user + system) are for the traced run\n`,
);
console.log(
  `${'function'.padEnd(14)}${'index.mjs'.padStart(12)}${'folder'.padStart(12)}${'import'.padStart(10)}${'1st call'.padStart(10)}${'cold init'.padStart(11)}${'untraced'.padStart(10)}${'no tracer'.padStart(10)}${'cpu'.padStart(9)}  target`,
);
try {
  const bundles = [];
  for (const name of functionNames()) {
    const bundle = await buildBundle(name, join(work, 'asset', name));
    // What the image holds, by the Dockerfile's runtime stage, outside the repository.
    const image = stageImage(bundle.outDir, join(work, 'task', name));
    // The same bundle with shared/observability/tracer.ts replaced by no-ops: what the tracer costs.
    const bare = await buildBundle(name, join(work, 'asset-bare', name), undefined, { withoutTracer: true });
    const bareImage = stageImage(bare.outDir, join(work, 'task-bare', name));
    const context = contexts.find((c) => c.name === name);
    const event =
      name === MIGRATE_FUNCTION
        ? { action: 'none' }
        : name === REALTIME_FUNCTION
          ? webSocketEvent('$connect', 'bench', { queryStringParameters: { client_id: 'bench' } })
          : name === 'health'
            ? apiEvent('GET', '/')
            : name === WORKER_FUNCTION
              ? { Records: [] } // the queue worker: an empty SQS batch, answered before the database
              : wrongMethodRequest(context!);
    bundles.push({
      name,
      bundle,
      image,
      bareImage,
      event,
      imports: [] as number[],
      calls: [] as number[],
      cpu: [] as number[],
      untraced: [] as number[],
      bare: [] as number[],
    });
  }
  // Round-robin over the bundles, so a busy moment of a shared machine slows all of them alike.
  for (let i = 0; i < RUNS; i++) {
    for (const entry of bundles) {
      const env = { ...entry.image.env, ...secretsEnv, ...lambdaEnvironment(entry.name), ...daemon.env };
      const probe = await probeBundle(entry.image.dir, [entry.event], env);
      entry.imports.push(probe.importMs);
      entry.calls.push(probe.invocations[0].ms);
      entry.cpu.push(probe.cpuMs);
      const untraced = await probeBundle(entry.image.dir, [entry.event], {
        ...env,
        POWERTOOLS_TRACE_ENABLED: 'false',
      });
      entry.untraced.push(untraced.importMs + untraced.invocations[0].ms);
      const bare = await probeBundle(entry.bareImage.dir, [entry.event], { ...env, ...entry.bareImage.env });
      entry.bare.push(bare.importMs + bare.invocations[0].ms);
    }
  }
  for (const { name, bundle, imports, calls, cpu, untraced, bare } of bundles) {
    const total = median(imports.map((v, i) => v + calls[i]));
    const target = name === MIGRATE_FUNCTION ? undefined : AUDIO_FUNCTIONS.has(name) ? 600 : 150;
    const verdict = target === undefined ? '-' : total <= target ? `<= ${target} ok` : `> ${target} MISSED`;
    if (target !== undefined && total > target) missed++;
    console.log(
      `${name.padEnd(14)}${mib(bundle.bundleBytes).padStart(12)}${mib(bundle.totalBytes).padStart(12)}` +
        `${median(imports).toFixed(0).padStart(8)}ms${median(calls).toFixed(0).padStart(8)}ms${total.toFixed(0).padStart(9)}ms` +
        `${median(untraced).toFixed(0).padStart(8)}ms${median(bare).toFixed(0).padStart(8)}ms${median(cpu).toFixed(0).padStart(7)}ms  ${verdict}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  await secretsManager.close();
  await daemon.close();
}
if (missed) console.log(`\n${missed} bundle(s) above target (figures depend on the machine's load)`);
