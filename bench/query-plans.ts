/**
 * Every SQL statement the API issues, captured as it runs and then planned with EXPLAIN ANALYZE on the same
 * data: what `npm run bench -- explain` prints and what test/integration/query-plans.test.ts checks
 * (PostgreSQL only). The statements come from real requests through the Middy pipeline (and a few
 * repository calls no route reaches), so nothing is hand-copied and a new query is covered the day it is
 * written.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { toApiGatewayEvent, type LocalDispatcher } from '../local/dispatch';
import type { Database } from '../shared/db/types';
import type { History } from './history';

export interface CapturedStatement {
  /** What issued it: the request (`GET P/persons`) or repository call. */
  label: string;
  sql: string;
  parameters: readonly unknown[];
}

/** A database handle over `url` that records every statement it runs under the current label. */
export function capturingDb(url: string) {
  const statements: CapturedStatement[] = [];
  let label = 'setup';
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // The bench database is dropped WITH (FORCE) at the end: an idle connection it kills must not crash the
  // bench (the app's own pools ignore such errors the same way, shared/db/client.ts).
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query' && !/^(begin|commit|rollback|savepoint|release)\b/i.test(event.query.sql))
        statements.push({ label, sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  return {
    db: db,
    pool,
    statements,
    /** Statements run inside `work` are recorded under `name`. */
    async as<T>(name: string, work: () => Promise<T>): Promise<T> {
      label = name;
      try {
        return await work();
      } finally {
        label = 'setup';
      }
    },
  };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

export interface PlannedStatement extends CapturedStatement {
  executionMs: number;
  /** Tables read by a sequential scan. */
  seqScans: string[];
  /** Whether the plan sorts (no index delivers the order asked for). */
  sorts: boolean;
  /** The plan's nodes, outermost first, e.g. `Limit > Index Scan(interactions_network_time_idx)`. */
  shape: string;
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/**
 * EXPLAIN ANALYZE of one statement with its parameters, in a transaction rolled back afterwards (a write is
 * executed by ANALYZE). `settings` are SET LOCAL first, e.g. `enable_seqscan = off` to ask whether an
 * index can serve the statement at all, whatever the table's size.
 */
export async function planStatement(
  pool: pg.Pool,
  statement: CapturedStatement,
  settings: string[] = [],
): Promise<PlannedStatement> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const setting of settings) await client.query(`SET LOCAL ${setting}`);
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`,
      statement.parameters as unknown[],
    );
    const [{ Plan: plan, 'Execution Time': executionMs }] = rows[0]['QUERY PLAN'];
    const all = nodes(plan);
    return {
      ...statement,
      executionMs,
      seqScans: all.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']!),
      sorts: all.some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort'),
      shape: all
        .map(
          (n) =>
            n['Node Type'] +
            (n['Index Name'] ? `(${n['Index Name']})` : n['Relation Name'] ? `(${n['Relation Name']})` : ''),
        )
        .join(' > '),
    };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

type Send = (
  method: string,
  url: string,
  body?: unknown,
) => Promise<{ statusCode?: number; body?: string; headers?: Record<string, unknown> }>;

/** `Send` through the local dispatcher (the Middy pipeline of every context), with a JSON body when given. */
export const sendThrough =
  (dispatcher: LocalDispatcher): Send =>
  (method, url, body) =>
    dispatcher.invoke(
      toApiGatewayEvent({
        method,
        url,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)),
      }),
    );

/**
 * The requests a household's apps make, each once, against the seeded history: the statements they
 * issue are captured under the request's name. Writes come last and touch only rows made here.
 */
export async function exerciseApi(
  capture: ReturnType<typeof capturingDb>,
  send: Send,
  history: History,
): Promise<void> {
  const P = `/api/v1/${history.networkId}`;
  const json = async (method: string, url: string, body?: unknown) => {
    const answer = await send(method, url, body);
    if (!answer.statusCode || answer.statusCode >= 400)
      throw new Error(`${method} ${url} answered ${answer.statusCode}: ${answer.body}`);
    return answer.body ? (JSON.parse(answer.body) as unknown) : undefined;
  };
  const interactions = (await json('GET', `${P}/interactions?limit=50`)) as {
    id: string;
    person_id: string;
    conversation_id: string;
  }[];
  const [newest] = interactions;
  const nextPage = await send('GET', `${P}/interactions?limit=50`);
  const cursor = String(nextPage.headers?.['Next-Cursor']);
  const requests: [string, string, string, unknown?][] = [
    ['GET P/service/info', 'GET', `${P}/service/info`],
    ['GET P/persons', 'GET', `${P}/persons`],
    ['GET P/persons/{id}', 'GET', `${P}/persons/${newest.person_id}`],
    ['GET P/conversations', 'GET', `${P}/conversations?limit=50`],
    [
      'GET P/conversations deep (offset)',
      'GET',
      `${P}/conversations?limit=50&offset=${history.conversations - 50}`,
    ],
    ['GET P/conversations/{id}', 'GET', `${P}/conversations/${newest.conversation_id}`],
    ['GET P/interactions', 'GET', `${P}/interactions?limit=50`],
    [
      'GET P/interactions deep (offset)',
      'GET',
      `${P}/interactions?limit=50&offset=${history.interactions - 50}`,
    ],
    ['GET P/interactions before=', 'GET', `${P}/interactions?limit=50&before=${cursor}`],
    ['GET P/interactions?person_id', 'GET', `${P}/interactions?limit=50&person_id=${newest.person_id}`],
    [
      'GET P/interactions?conversation_id',
      'GET',
      `${P}/interactions?limit=50&conversation_id=${newest.conversation_id}`,
    ],
    [
      'GET P/interactions?conversation_ids',
      'GET',
      `${P}/interactions?limit=500&conversation_ids=${newest.conversation_id}`,
    ],
    ['GET P/interactions?orphans_only', 'GET', `${P}/interactions?limit=500&orphans_only=true`],
    ['GET P/interactions/{id}', 'GET', `${P}/interactions/${newest.id}`],
    ['GET P/actions', 'GET', `${P}/actions`],
    [
      'POST P/interactions (conversation assignment)',
      'POST',
      `${P}/interactions`,
      { content: 'Hello', interaction_type: 'text', person_id: newest.person_id },
    ],
    ['POST P/persons', 'POST', `${P}/persons`, { name: 'Newcomer' }],
  ];
  for (const [label, method, url, body] of requests) await capture.as(label, () => json(method, url, body));
  const created = (await json('POST', `${P}/interactions`, { content: 'Bye', interaction_type: 'text' })) as {
    id: string;
  };
  await capture.as('DELETE P/interactions/{id}', () => json('DELETE', `${P}/interactions/${created.id}`));
  // What the register pipeline reads besides the routes above (voiceprints for the speaker match).
  const { listVoiceprints } = await import('../shared/db/repositories/voiceprints');
  const { conversationContext } = await import('../functions/interactions/service');
  const { findInteraction } = await import('../shared/db/repositories/interactions');
  await capture.as('listVoiceprints (register)', () => listVoiceprints(capture.db, history.networkId));
  const view = await findInteraction(capture.db, history.networkId, newest.id);
  await capture.as('conversationContext (commands, inference)', () => conversationContext(capture.db, view!));
}

/** One statement per distinct SQL text and label: the first run of each. */
export const distinct = (statements: CapturedStatement[]): CapturedStatement[] => {
  const seen = new Set<string>();
  return statements.filter((s) => {
    const key = `${s.label}\n${s.sql}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};
