/**
 * What the in-process benches share: a quiet environment, an in-memory PGlite with the schema, every
 * context behind the local dispatcher (the Middy pipeline as the local server runs it), and one network.
 */
import { createDb, setDb } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';

process.env.LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Network id alone, as old clients call: measures the pipeline, not token verification.
process.env.LEGACY_NETWORK_AUTH = 'true';

export async function startBenchApi() {
  // Imported here, after the environment above is set: the handlers read it when they load.
  const { contexts, defaultContextName } = await import('../functions/contexts');
  const { LocalDispatcher, toApiGatewayEvent } = await import('../local/dispatch');
  const db = await createDb({ dataDir: 'memory' });
  await migrateToLatest(db);
  setDb(db);
  const dispatcher = new LocalDispatcher(contexts, defaultContextName);
  /** Any request, as API Gateway would deliver it. */
  const send = (
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body: Buffer = Buffer.alloc(0),
  ) => dispatcher.invoke(toApiGatewayEvent({ method, url, headers, body }));
  /** A request with an optional JSON body. */
  const call = (method: string, url: string, body?: unknown) =>
    body === undefined
      ? send(method, url)
      : send(method, url, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(body)));
  const network = JSON.parse((await call('POST', '/api/v1/networks', { name: 'bench' })).body!) as {
    id: string;
  };
  return { db, send, call, networkId: network.id, close: () => db.destroy() };
}
