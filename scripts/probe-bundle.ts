/**
 * Runs a built bundle the way Lambda does: a fresh Node process whose working folder is the bundle's
 * folder (nothing else on the module path), importing `index.mjs` and calling its `handler` with the given
 * events. Used by the bundle smoke test and by `npm run bench`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DOCKERFILE, LAMBDA_TASK_ROOT, ROOT, runtimeEnvironment } from '../lib/config/build';

export interface StagedImage {
  /** The function folder, as LAMBDA_TASK_ROOT of the image. */
  dir: string;
  /** The runtime stage's ENV, with the task root replaced by `dir`. */
  env: Record<string, string>;
}

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
function instructions(dockerfile: string): Array<{ op: string; args: string }> {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

interface DockerStage {
  name?: string;
  steps: Array<{ op: string; args: string }>;
}

/** The stages of a Dockerfile: the build stage (`AS build`), its bundle folder, and the runtime stage. */
function dockerStages(dockerfile: string): { build: DockerStage; runtime: DockerStage; out: string } {
  const stages: DockerStage[] = [];
  for (const step of instructions(readFileSync(dockerfile, 'utf8'))) {
    if (step.op === 'FROM') stages.push({ name: step.args.match(/\sAS\s+(\S+)$/i)?.[1], steps: [] });
    else stages.at(-1)?.steps.push(step);
  }
  const build = stages.find((s) => s.name === 'build');
  const runtime = stages.at(-1);
  const out = build?.steps
    .filter((s) => s.op === 'RUN' && s.args.includes('scripts/build-bundles.ts'))
    .map((s) => s.args.match(/--out\s+(\S+)/)?.[1])
    .find(Boolean);
  if (!build || !runtime || runtime === build || !out) {
    throw new Error(
      `${dockerfile}: expected a "build" stage running scripts/build-bundles.ts --out, then a runtime stage`,
    );
  }
  return { build, runtime, out };
}

/** The build stage's steps, in order, as `op args` lines (for tests of the layer order). */
export const buildStageSteps = (dockerfile = join(ROOT, DOCKERFILE)): string[] =>
  dockerStages(dockerfile).build.steps.map((s) => `${s.op} ${s.args}`);

/**
 * Replays the build stage of functions/Dockerfile for one function on a build context (the folder `cdk
 * synth` stages for the image): its COPY steps from that folder into `buildDir`, `npm ci` as a link to this
 * repository's node_modules (same package-lock.json, checked), and the bundle script's RUN with the
 * CONTEXT build argument, writing what the stage writes to its `--out` folder into `assetDir`. Any other
 * step is refused. Proves the staged context holds everything the image's build needs.
 */
export function replayBuildStage(
  buildContext: string,
  buildDir: string,
  assetDir: string,
  buildArgs: Record<string, string>,
  dockerfile = join(buildContext, DOCKERFILE),
): void {
  const { build, out } = dockerStages(dockerfile);
  const args: Record<string, string> = {};
  let workdir = '/';
  const inBuild = (path: string) => join(buildDir, path.startsWith('/') ? relative(workdir, path) : path);
  for (const { op, args: line } of build.steps) {
    if (op === 'WORKDIR') {
      workdir = line;
      mkdirSync(buildDir, { recursive: true });
    } else if (op === 'ARG') {
      const [name, fallback] = line.split('=');
      args[name] = buildArgs[name] ?? fallback ?? '';
    } else if (op === 'COPY' && !line.startsWith('--')) {
      const paths = line.split(/\s+/);
      const target = paths.pop()!;
      for (const source of paths) {
        const from = join(buildContext, source);
        if (!existsSync(from)) throw new Error(`COPY ${source}: not in the build context ${buildContext}`);
        const isFile = !statSync(from).isDirectory();
        const to = isFile && target.endsWith('/') ? join(inBuild(target), basename(source)) : inBuild(target);
        mkdirSync(isFile ? dirname(to) : to, { recursive: true });
        cpSync(from, to, { recursive: true });
      }
    } else if (op === 'RUN' && /^npm ci\b/.test(line)) {
      const lock = (dir: string) => readFileSync(join(dir, 'package-lock.json'), 'utf8');
      if (lock(buildDir) !== lock(ROOT)) throw new Error('npm ci: the lockfile differs from this checkout');
      symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
    } else if (op === 'RUN' && line.includes('scripts/build-bundles.ts')) {
      const command = line
        .replace(/\$\{?(\w+)\}?/g, (_, name: string) => args[name] ?? '')
        .replaceAll(out, assetDir);
      const run = spawnSync('sh', ['-c', command], {
        cwd: buildDir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      if (run.status !== 0) throw new Error(`RUN ${command} failed: ${run.stderr || run.stdout}`);
    } else {
      throw new Error(`${dockerfile}: the build stage's ${op} has no replay (scripts/probe-bundle.ts)`);
    }
  }
}

/**
 * Puts into `taskRoot` exactly what the function's image holds, by replaying the runtime stage of
 * functions/Dockerfile: its `COPY --from=build` steps (from the folder the build stage's bundle script
 * wrote, `assetDir` here) and its ENV (paths under the task root moved to `taskRoot`). Any other instruction
 * in that stage is refused, so the Dockerfile cannot grow a step this replay silently skips.
 */
export function stageImage(
  assetDir: string,
  taskRoot: string,
  dockerfile = join(ROOT, DOCKERFILE),
): StagedImage {
  const { runtime, out } = dockerStages(dockerfile);
  const env: Record<string, string> = {};
  const inTask = (value: string) =>
    value.replaceAll('${LAMBDA_TASK_ROOT}', taskRoot).replaceAll(LAMBDA_TASK_ROOT, taskRoot);
  mkdirSync(taskRoot, { recursive: true });
  let cmd: string | undefined;
  for (const { op, args } of runtime.steps) {
    if (op === 'ARG') continue;
    if (op === 'ENV') {
      for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) env[key] = inTask(value);
    } else if (op === 'COPY' && args.startsWith('--from=build ')) {
      const paths = args.slice('--from=build '.length).trim().split(/\s+/);
      const target = inTask(paths.pop()!);
      for (const source of paths) {
        const base = out.replace(/\/$/, '');
        if (source !== base && !source.startsWith(`${base}/`)) {
          throw new Error(
            `COPY --from=build ${source}: only the bundle folder ${out} exists in the build stage here`,
          );
        }
        const from = join(assetDir, source.slice(base.length));
        if (!existsSync(from)) throw new Error(`COPY ${source}: ${from} does not exist`);
        // Docker: a folder's contents go into the target; a file goes into a target folder (trailing /).
        const isFile = !statSync(from).isDirectory();
        const to = isFile && target.endsWith('/') ? join(target, basename(from)) : target;
        mkdirSync(isFile ? dirname(to) : to, { recursive: true });
        cpSync(from, to, { recursive: true });
      }
    } else if (op === 'CMD') {
      cmd = JSON.parse(args)[0];
    } else {
      throw new Error(
        `${dockerfile}: the runtime stage's ${op} has no replay in stageImage (scripts/probe-bundle.ts)`,
      );
    }
  }
  if (cmd !== 'index.handler' || !existsSync(join(taskRoot, 'index.mjs'))) {
    throw new Error(`The image must run index.handler from index.mjs (CMD ${cmd})`);
  }
  return { dir: taskRoot, env };
}

export interface Invocation {
  ms: number;
  statusCode?: number;
  body?: string;
  /** The whole result of a non-HTTP handler. */
  result?: unknown;
  /** Name and message when the handler threw. */
  error?: { name: string; message: string };
}

export interface ProbeResult {
  /** Time to import index.mjs (module evaluation including secrets loading), in ms. */
  importMs: number;
  /** CPU time (user + system) of import and all invocations, in ms: steadier than wall time on a busy machine. */
  cpuMs: number;
  invocations: Invocation[];
}

const CHILD = `
const cpuStart = process.cpuUsage();
const started = performance.now();
const { handler } = await import(process.env.PROBE_ENTRY);
const importMs = performance.now() - started;
const context = {
  awsRequestId: 'probe', functionName: 'probe', functionVersion: '$LATEST', memoryLimitInMB: '1024',
  invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:probe', logGroupName: 'probe', logStreamName: 'probe',
  callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => 30000,
};
const invocations = [];
for (const event of JSON.parse(process.env.PROBE_EVENTS)) {
  const t = performance.now();
  try {
    const result = await handler(event, context);
    const http = result && typeof result === 'object' && 'statusCode' in result;
    invocations.push({ ms: performance.now() - t, ...(http ? { statusCode: result.statusCode, body: result.body } : { result }) });
  } catch (error) {
    invocations.push({ ms: performance.now() - t, error: { name: error?.name, message: error?.message } });
  }
}
const cpu = process.cpuUsage(cpuStart);
const cpuMs = (cpu.user + cpu.system) / 1000;
// An open database pool would keep the process alive (Lambda freezes it instead), so the probe exits, but
// only once a large result (the OpenAPI document) has been flushed to the pipe.
// Segments sent to an X-Ray daemon leave on UDP sockets: give them a moment (Lambda freezes, never exits).
if (process.env.AWS_XRAY_DAEMON_ADDRESS) await new Promise((resolve) => setTimeout(resolve, 100));
process.stdout.write('\\nPROBE_RESULT ' + JSON.stringify({ importMs, cpuMs, invocations }) + '\\n', () => process.exit(0));
`;

export function probeBundle(
  outDir: string,
  events: unknown[],
  env: Record<string, string | undefined> = {},
): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: outDir,
      env: {
        PATH: process.env.PATH,
        LAMBDA_TASK_ROOT: outDir,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...runtimeEnvironment(outDir),
        ...env,
        PROBE_ENTRY: pathToFileURL(join(outDir, 'index.mjs')).href,
        PROBE_EVENTS: JSON.stringify(events),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('PROBE_RESULT '));
      if (!line) return reject(new Error(`bundle in ${outDir} exited with ${code}: ${stderr || stdout}`));
      resolve(JSON.parse(line.slice('PROBE_RESULT '.length)) as ProbeResult);
    });
  });
}

export interface FakeSecretsManager {
  /** Environment that points a bundle's Secrets Manager client here (endpoint, region, dummy keys). */
  env: Record<string, string>;
  /** GetSecretValue calls received, by secret id. */
  calls: string[];
  /** Every request as received: method, path, headers and body (to check signing). */
  requests: Array<{ method: string; path: string; headers: Record<string, string>; body: string }>;
  /** The secrets served, by id; change them to simulate a rotation. */
  secrets: Record<string, unknown>;
  /** Answer the next `times` calls for `secretId` with this error instead of the secret. */
  failNext: (secretId: string, error: { status: number; type: string }, times?: number) => void;
  close: () => Promise<void>;
}

/**
 * A local stand-in for Secrets Manager's GetSecretValue (AWS JSON 1.1 protocol), so a bundle can run its
 * real init path offline. Our client, like the AWS SDK, honours AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export async function startFakeSecretsManager(secrets: Record<string, unknown>): Promise<FakeSecretsManager> {
  const { createServer } = await import('node:http');
  const calls: string[] = [];
  const requests: FakeSecretsManager['requests'] = [];
  const failures = new Map<string, Array<{ status: number; type: string }>>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers as Record<string, string>,
        body,
      });
      let secretId: string | undefined;
      try {
        secretId = (JSON.parse(body || '{}') as { SecretId?: string }).SecretId;
      } catch {
        // Reported as a bad request below.
      }
      calls.push(String(secretId));
      const answer = (status: number, payload: unknown) => {
        response.statusCode = status;
        response.setHeader('Content-Type', 'application/x-amz-json-1.1');
        response.end(JSON.stringify(payload));
      };
      const failure = secretId ? failures.get(secretId)?.shift() : undefined;
      if (failure) return answer(failure.status, { __type: failure.type, message: 'injected failure' });
      if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue' || !secretId) {
        return answer(400, { __type: 'ValidationException', message: 'not a GetSecretValue request' });
      }
      const secret = secrets[secretId];
      if (secret === undefined) {
        return answer(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
      }
      answer(200, {
        ARN: secretId,
        Name: secretId,
        VersionId: 'v1',
        SecretString: typeof secret === 'string' ? secret : JSON.stringify(secret),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    env: {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${port}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_SESSION_TOKEN: 'session-token',
    },
    calls,
    requests,
    secrets,
    failNext: (secretId, error, times = 1) =>
      failures.set(secretId, [...(failures.get(secretId) ?? []), ...Array(times).fill(error)]),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An X-Ray segment document as the SDK sends it to the daemon. */
export interface XRayDocument {
  id: string;
  name: string;
  trace_id: string;
  parent_id?: string;
  type?: string;
  start_time: number;
  end_time?: number;
  annotations?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  fault?: boolean;
  error?: boolean;
}

export interface FakeXRayDaemon {
  /** Environment of a Lambda with active tracing whose daemon is this one (trace header included). */
  env: Record<string, string>;
  traceId: string;
  /** The invocation's parent segment id (Lambda's facade segment). */
  parentId: string;
  /** Every segment document received, in order. */
  documents: XRayDocument[];
  close: () => Promise<void>;
}

/**
 * A local stand-in for the X-Ray daemon Lambda runs beside a function with active tracing: it receives
 * the SDK's UDP datagrams (a `{"format":"json","version":1}` header line, then one segment document).
 */
export async function startFakeXRayDaemon(): Promise<FakeXRayDaemon> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  const documents: XRayDocument[] = [];
  socket.on('message', (message) => {
    const [, body] = message.toString('utf8').split('\n');
    if (body) documents.push(JSON.parse(body) as XRayDocument);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  const traceId = `1-${Math.floor(Date.now() / 1000).toString(16)}-${'0123456789abcdef01234567'}`;
  const parentId = '53995c3f42cd8ad8';
  return {
    env: {
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port}`,
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      _X_AMZN_TRACE_ID: `Root=${traceId};Parent=${parentId};Sampled=1`,
    },
    traceId,
    parentId,
    documents,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** The variables the Lambda runtime sets for a function (Powertools reads them; tracing needs them). */
export const lambdaEnvironment = (functionName: string): Record<string, string> => ({
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_NAME: `mira-${functionName}`,
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_SERVICE_NAME: `mira-${functionName}`,
  _HANDLER: 'index.handler',
});
