/**
 * The local server (`bin/serve.ts`) as a child process, as `npm start` runs it: its output is kept line by
 * line, and its exit is watched (a fault test checks it never exits by itself).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:port, once it listens. */
  baseUrl: string;
  port: number;
  lines: string[];
  /** Resolves with the first line (already printed or to come) that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Set once it exited: code or signal. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit; SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `bin/serve.ts` in a child process, quiet, on loopback, with this environment over the test's own. */
export const spawnServe = (env: Record<string, string | undefined>) =>
  spawn(process.execPath, ['--import', 'tsx', 'bin/serve.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'SILENT',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** Starts `bin/serve.ts` with this environment (over the test process's own), waits until it listens. */
export async function spawnServer(env: Record<string, string | undefined>): Promise<ServerProcess> {
  const child = spawnServe({ PORT: '0', ...env });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onText = (stream: 'out' | 'err') => {
    let rest = '';
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop()!;
      for (const text of parts) {
        const line = stream === 'err' ? `[stderr] ${text}` : text;
        lines.push(line);
        for (const waiter of [...waiters]) {
          if (waiter.pattern.test(line)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    };
  };
  child.stdout.on('data', onText('out'));
  child.stderr.on('data', onText('err'));

  const proc: ServerProcess = {
    child,
    baseUrl: '',
    port: 0,
    lines,
    exit: undefined,
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        proc.exit = { code, signal };
        resolve({ code, signal });
      }),
    ),
    waitForLine(pattern, timeoutMs = 120_000) {
      const already = lines.find((line) => pattern.test(line));
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`No line matching ${pattern} in:\n${lines.join('\n')}`));
        }, timeoutMs);
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
        void proc.exited.then(() => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`The server exited before printing ${pattern}:\n${lines.join('\n')}`));
        });
      });
    },
    async stop(graceMs = 30_000) {
      if (proc.exit) return proc.exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const outcome = await proc.exited;
      clearTimeout(timer);
      return outcome;
    },
  };
  const listening = await proc.waitForLine(/listening on http:\/\/localhost:(\d+)/);
  proc.port = Number(/localhost:(\d+)/.exec(listening)![1]);
  proc.baseUrl = `http://127.0.0.1:${proc.port}`;
  return proc;
}
