/**
 * Child of bench/health.bench.ts: CPU per request of GET /health through the whole Middy pipeline with
 * logging at INFO and EMF metrics on, as deployed (stdout is discarded by the parent, so the figure is the
 * work of producing the log lines, not of a terminal). Prints one JSON line on stderr.
 */
import { LocalDispatcher, toApiGatewayEvent } from '../local/dispatch';
import { contexts, defaultContextName } from '../functions/contexts';
import type { ApiEvent, ApiResult } from '../shared/http/pipeline';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const dispatcher = new LocalDispatcher(contexts, defaultContextName);
const event = () => toApiGatewayEvent({ method: 'GET', url: '/health', headers: {}, body: Buffer.alloc(0) });
// The bare same-work handler: builds the event as the server does and answers fixed JSON.
const bare = (e: ApiEvent): Promise<ApiResult> =>
  Promise.resolve({
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ status: 'ok', path: e.rawPath }),
  });

async function cpuPerRequest(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await run();
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / REQUESTS;
}

const probe = await dispatcher.invoke(event());
if (probe.statusCode !== 200) throw new Error(`/health answered ${probe.statusCode}`);
let lines = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk: string | Uint8Array, ...rest: never[]) => {
  lines += String(chunk).split('\n').length - 1;
  return write(chunk, ...rest);
};
const linesBefore = lines;
const mira = await cpuPerRequest(() => dispatcher.invoke(event()));
const linesPerRequest = (lines - linesBefore) / (REQUESTS + 500);
const baseline = await cpuPerRequest(() => bare(event()));
process.stderr.write(`${JSON.stringify({ mira, bare: baseline, linesPerRequest, requests: REQUESTS })}\n`);
process.exit(0);
