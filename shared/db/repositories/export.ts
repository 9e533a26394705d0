import { sql } from 'kysely';
import type { Executor } from '../transaction';
import { participantsOf, type ConversationWithParticipants } from './conversations';
import { interactionColumns, type InteractionView } from './interactions';
import { withAction, type MemoryView } from './memories';
import type { Action } from '../types';

/**
 * The pages of a network's export (`GET P/export`): each kind of record newest first by keyset, so the
 * last page of a long history costs what the first does and a download can resume from any page.
 */
export type ExportSection = 'conversations' | 'interactions' | 'memories' | 'actions';
export const EXPORT_SECTIONS: readonly ExportSection[] = [
  'conversations',
  'interactions',
  'memories',
  'actions',
];

/** A row's place in its section's order: its time to the microsecond (as stored) and its id. */
export interface ExportPosition {
  at: string;
  id: string;
}

export interface ExportRows {
  conversations: ConversationWithParticipants;
  interactions: InteractionView;
  memories: MemoryView;
  actions: Action;
}

const micros = (column: string) =>
  sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const before = (column: string, id: string, after: ExportPosition) =>
  sql<boolean>`(${sql.ref(column)}, ${sql.ref(id)}) < (${after.at}::timestamptz, ${after.id}::uuid)`;

type Positioned<T> = (T & { position: ExportPosition })[];

/** Up to `limit` rows of `section` after `after` (from the newest without it), each with its position. */
export async function exportRows<S extends ExportSection>(
  db: Executor,
  networkId: string,
  section: S,
  after: ExportPosition | undefined,
  limit: number,
): Promise<Positioned<ExportRows[S]>> {
  const place = <R extends { id: string; cursor_at: string }>(rows: R[]) =>
    rows.map(({ cursor_at, ...row }) => ({ ...row, position: { at: cursor_at, id: row.id } }));
  switch (section) {
    case 'conversations': {
      let query = db
        .selectFrom('conversations')
        .selectAll()
        .select(micros('started_at').as('cursor_at'))
        .where('network_id', '=', networkId);
      if (after) query = query.where(before('started_at', 'id', after));
      const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      const participants = await participantsOf(
        db,
        rows.map((r) => r.id),
      );
      return place(rows.map((r) => ({ ...r, participants: participants.get(r.id)! }))) as never;
    }
    case 'interactions': {
      let query = db
        .selectFrom('interactions')
        .select(interactionColumns)
        .select(micros('timestamp').as('cursor_at'))
        .where('network_id', '=', networkId);
      if (after) query = query.where(before('timestamp', 'id', after));
      return place(
        await query.orderBy('timestamp', 'desc').orderBy('id', 'desc').limit(limit).execute(),
      ) as never;
    }
    case 'memories': {
      let query = withAction(db)
        .select(micros('m.created_at').as('cursor_at'))
        .where('m.network_id', '=', networkId);
      if (after) query = query.where(before('m.created_at', 'm.id', after));
      return place(
        await query.orderBy('m.created_at', 'desc').orderBy('m.id', 'desc').limit(limit).execute(),
      ) as never;
    }
    case 'actions': {
      let query = db
        .selectFrom('actions')
        .selectAll()
        .select(micros('created_at').as('cursor_at'))
        .where('network_id', '=', networkId);
      if (after) query = query.where(before('created_at', 'id', after));
      return place(
        await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute(),
      ) as never;
    }
  }
  throw new Error(`Unknown export section ${String(section)}`);
}
