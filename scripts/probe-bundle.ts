/**
 * Runs a built bundle the way Lambda does: a fresh Node process whose working folder is the bundle's
 * folder (nothing else on the module path), importing `index.mjs` and calling its `handler` with the given
 * events. Used by the bundle smoke test and by `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runtimeEnvironment } from './build-bundles';

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
  close: () => Promise<void>;
}

/**
 * A local stand-in for Secrets Manager's GetSecretValue (AWS JSON 1.1 protocol), so a bundle can run its
 * real init path (Powertools Parameters, AWS SDK) offline. The SDK honours AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export async function startFakeSecretsManager(secrets: Record<string, unknown>): Promise<FakeSecretsManager> {
  const { createServer } = await import('node:http');
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      calls.push(String(SecretId));
      const secret = SecretId ? secrets[SecretId] : undefined;
      response.setHeader('Content-Type', 'application/x-amz-json-1.1');
      if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue' || secret === undefined) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'not found' }));
        return;
      }
      response.end(
        JSON.stringify({
          ARN: SecretId,
          Name: SecretId,
          VersionId: 'v1',
          SecretString: JSON.stringify(secret),
        }),
      );
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
    },
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
