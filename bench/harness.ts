/**
 * What the in-process benches share: a quiet environment, an in-memory PGlite with the schema, every
 * context behind the local dispatcher (the Middy pipeline as the local server runs it), and one network.
 */
// First: the environment must be set before any module below reads the configuration (static imports are
// evaluated before this module's body, so assignments here came too late and the benches logged and got 401).
import './quiet-env';
import { createDb, setDb } from '../shared/db/client';
import { migrateToLatest } from '../shared/db/migrate';

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
