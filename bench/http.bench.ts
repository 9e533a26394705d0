/** Request pipeline overhead: GET /health and a network-scoped read through the whole Middy pipeline. */
import { startBenchApi } from './harness';

const { call, networkId, close } = await startBenchApi();
const network = { id: networkId };
await call('POST', `/api/v1/${network.id}/service/clients`, { client_id: 'kitchen' });
const probe = await call('GET', `/api/v1/${network.id}/service/info`);
if (probe.statusCode !== 200) throw new Error(`service/info answered ${probe.statusCode}: ${probe.body}`);

async function measure(label: string, run: () => Promise<unknown>, iterations = 500) {
  for (let i = 0; i < 50; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.floor(q * (times.length - 1))].toFixed(3);
  console.log(`${label.padEnd(40)} p50 ${p(0.5)} ms  p95 ${p(0.95)} ms  (${iterations} requests, PGlite)`);
}

await measure('GET /health', () => call('GET', '/health'));
await measure('GET P/service/info', () => call('GET', `/api/v1/${network.id}/service/info`));
await close();
