/**
 * `npm start` misconfigured: one clear line on stderr and exit code 1, never a stack; a port in use is said
 * before the embedded database is opened (its folder is not even created).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readConfig } from '../../shared/config';
import { spawnServe } from '../helpers/server-process';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function serve(env: Record<string, string | undefined>): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawnServe(env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const oneLine = (text: string) => text.trim().split('\n');

describe('npm start, misconfigured', () => {
  it.each([
    ['PORT=abc', { PORT: 'abc' }, /^mira: PORT must be a whole number from 0 to 65535, not "abc"$/],
    ['PORT=70000', { PORT: '70000' }, /^mira: PORT must be a whole number from 0 to 65535, not "70000"$/],
    ['MAX_BODY_BYTES=1e3', { MAX_BODY_BYTES: '1e3' }, /^mira: MAX_BODY_BYTES must be a whole number/],
    ['DATABASE_URL=not a url', { DATABASE_URL: 'not a url' }, /^mira: DATABASE_URL must be a postgres:\/\//],
    [
      'DATABASE_URL=mysql://x',
      { DATABASE_URL: 'mysql://db/x' },
      /^mira: DATABASE_URL must be a postgres:\/\//,
    ],
  ])('refuses %s in one line', async (_name, env, line) => {
    const outcome = await serve(env);
    expect(outcome.code).toBe(1);
    expect(oneLine(outcome.stderr)).toEqual([expect.stringMatching(line)]);
    expect(outcome.stdout).toBe('');
  });

  it('says that the port is in use and exits before opening the embedded database', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const dir = mkdtempSync(join(tmpdir(), 'mira-serve-'));
    const dataDir = join(dir, 'pgdata');
    try {
      const outcome = await serve({ PORT: String(port), DATABASE_URL: '', MIRA_DATA_DIR: dataDir });
      expect(outcome.code).toBe(1);
      expect(oneLine(outcome.stderr)).toEqual([
        `mira: Port ${port} is in use (127.0.0.1:${port}): another server listens there; set PORT`,
      ]);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the host and the cause when the database refuses (here: no such database)', async () => {
    const url = process.env.DATABASE_URL;
    if (!url) return; // PGlite run: there is no server to refuse
    const target = new URL(url);
    target.pathname = '/mira_no_such_database';
    const outcome = await serve({ PORT: '0', DATABASE_URL: target.toString() });
    expect(outcome.code).toBe(1);
    expect(oneLine(outcome.stderr)).toEqual([
      `mira: Cannot use the database, PostgreSQL at ${target.host}: ` +
        'database "mira_no_such_database" does not exist (3D000)',
    ]);
  });

  it('validates the numbers it reads, with the same messages (readConfig)', () => {
    expect(() => readConfig({ PORT: '8o' })).toThrow(ConfigError);
    expect(() => readConfig({ PORT: '-1' })).toThrow('PORT must be a whole number from 0 to 65535, not "-1"');
    expect(() => readConfig({ GEMINI_MAX_ATTEMPTS: '0' })).toThrow(/GEMINI_MAX_ATTEMPTS/);
    expect(readConfig({ PORT: '' }).port).toBe(8000);
    expect(readConfig({ PORT: ' 8080 ' }).port).toBe(8080);
    expect(readConfig({ DATABASE_URL: 'postgresql://u@h:5433/d' }).databaseUrl).toBe(
      'postgresql://u@h:5433/d',
    );
  });
});
